import { describe, expect, it } from "vitest";
import { parseRetrySchedule } from "../config.js";
import { classifyAddress, refusalOf, urlFormRefusal } from "./address-safety.js";
import { decodeLaneEntry, encodeLaneEntry } from "./lane.js";
import { nextAttemptDelayMs, parseRetryAfter } from "./retry-schedule.js";
import { generateEndpointSecret, signWebhook } from "./signing.js";

/** What the WHATWG URL parser makes of a host: what the gateway and the worker check. */
const hostOf = (url: string) => new URL(url).hostname;

describe("address safety", () => {
  it("sees the metadata address in every spelling", () => {
    for (const url of [
      "http://169.254.169.254/",
      "http://2852039166/",
      "http://0xA9FEA9FE/",
      "http://0xa9.0xfe.0xa9.0xfe/",
      "http://0251.0376.0251.0376/",
      "http://169.254.43518/",
      "http://[::ffff:169.254.169.254]/",
      "http://[::ffff:a9fe:a9fe]/",
      "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
      "http://[64:ff9b::a9fe:a9fe]/",
      "http://[2002:a9fe:a9fe::]/",
      "http://[::a9fe:a9fe]/",
      "http://[fd00:ec2::254]/",
      "http://[fd00:ec2:0::254]/",
    ]) {
      expect(classifyAddress(hostOf(url)), url).toBe("metadata");
      expect(refusalOf(hostOf(url), { allowPrivate: true }), url).toMatch(/metadata/);
    }
  });

  it("tells private from public addresses", () => {
    for (const address of [
      "127.0.0.1",
      "10.0.0.1",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.1.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fc00::1",
      "100.64.0.1",
    ]) {
      expect(classifyAddress(address), address).toBe("private");
      expect(refusalOf(address, { allowPrivate: false }), address).toMatch(/private/);
      expect(refusalOf(address, { allowPrivate: true }), address).toBeNull();
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]) expect(classifyAddress(address), address).toBe("public");
    expect(classifyAddress("example.com")).toBeNull();
  });

  it("checks a URL's form", () => {
    const policy = { httpsOnly: true, allowPrivate: false };
    expect(urlFormRefusal(new URL("http://example.com/"), policy)).toBe("the URL must be https");
    expect(urlFormRefusal(new URL("https://example.com/"), policy)).toBeNull();
    expect(urlFormRefusal(new URL("ftp://example.com/"), policy)).toMatch(/http or https/);
    expect(urlFormRefusal(new URL("https://a:b@example.com/"), policy)).toMatch(/credentials/);
  });
});

describe("retry schedule", () => {
  it("parses durations", () => {
    expect(parseRetrySchedule("0,5s,5m,30m,2h,5h,10h,10h")).toEqual([
      0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(parseRetrySchedule("0, 100ms, 1.5s")).toEqual([0, 100, 1_500]);
    expect(parseRetrySchedule("5 minutes")).toBeNull();
  });

  it("jitters each delay by at most 10%, honours a longer Retry-After, and ends", () => {
    const schedule = [0, 1_000, 10_000];
    expect(nextAttemptDelayMs(schedule, 1, null, () => 0)).toBe(900);
    expect(nextAttemptDelayMs(schedule, 1, null, () => 1)).toBe(1_100);
    expect(nextAttemptDelayMs(schedule, 2, 60_000, () => 0.5)).toBe(60_000);
    expect(nextAttemptDelayMs(schedule, 3)).toBeNull();
    expect(parseRetryAfter("7")).toBe(7_000);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8_000);
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("signing", () => {
  it("makes whsec_ secrets and one v1 signature per secret", () => {
    const a = generateEndpointSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const headers = signWebhook([a, generateEndpointSecret()], "1-0", 1_700_000_000, "{}");
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
  });
});

describe("the delivery lane's entries", () => {
  it("carry ids, the endpoint's version, the queue time and a body with spaces, and read back the same", () => {
    const entry = {
      deliveryId: "9b2f0c1e-0000-4000-8000-000000000001",
      endpointId: "9b2f0c1e-0000-4000-8000-000000000002",
      endpointVersion: "1764000000123",
      eventId: "1764000000000-0",
      queuedAt: 1764000000456,
      body: '{"type":"bulk.completed","data":{"text":"a b  c"}}',
    };
    expect(decodeLaneEntry(encodeLaneEntry(entry))).toEqual(entry);
  });

  it("refuse what is not an entry", () => {
    for (const text of ["", "a b", "a b c d e", "a b c d notanumber {}", " a b c d 1 {}"]) expect(decodeLaneEntry(text), text).toBeNull();
  });
});
