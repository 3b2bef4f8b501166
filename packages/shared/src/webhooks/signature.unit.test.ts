import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { composioSignature, verifyComposioWebhook } from "./signature.js";

const secret = "whsec_test_secret";
const id = "msg_2b3c";
const now = 1_764_000_000;
const body = '{"id":"msg_2b3c","type":"composio.connected_account.expired","data":{}}';
const headersFor = (signature: string, timestamp = String(now)) => ({ id, timestamp, signature });

describe("Composio webhook signatures", () => {
  it("signs with the secret's UTF-8 bytes over id.timestamp.body (an independent computation agrees)", () => {
    const independent = createHmac("sha256", secret).update(`${id}.${now}.${body}`).digest("base64");
    expect(composioSignature(secret, id, String(now), body)).toBe(independent);
  });

  it("accepts a valid signature, and one among several", () => {
    const good = `v1,${composioSignature(secret, id, String(now), body)}`;
    expect(verifyComposioWebhook(headersFor(good), body, [secret], now)).toEqual({ ok: true });
    expect(verifyComposioWebhook(headersFor(`v1,AAAA ${good} v2,zzz`), body, [secret], now)).toEqual({ ok: true });
  });

  it("accepts either secret while one is being rotated", () => {
    const signedWithOld = `v1,${composioSignature("old_secret", id, String(now), body)}`;
    expect(verifyComposioWebhook(headersFor(signedWithOld), body, [secret, "old_secret"], now)).toEqual({ ok: true });
    expect(verifyComposioWebhook(headersFor(signedWithOld), body, [secret], now)).toEqual({ ok: false, reason: "no_match" });
  });

  it("rejects a tampered body, a wrong secret, and the Svix-style base64-decoded secret", () => {
    const good = `v1,${composioSignature(secret, id, String(now), body)}`;
    expect(verifyComposioWebhook(headersFor(good), body.replace("expired", "active"), [secret], now).ok).toBe(false);
    expect(verifyComposioWebhook(headersFor(good), body, ["another"], now).ok).toBe(false);
    const svix = createHmac("sha256", Buffer.from(secret, "base64")).update(`${id}.${now}.${body}`).digest("base64");
    expect(verifyComposioWebhook(headersFor(`v1,${svix}`), body, [secret], now).ok).toBe(false);
  });

  it("rejects stale, future, malformed and missing timestamps, and missing headers", () => {
    const at = (t: number) => `v1,${composioSignature(secret, id, String(t), body)}`;
    expect(verifyComposioWebhook(headersFor(at(now - 301), String(now - 301)), body, [secret], now)).toEqual({
      ok: false,
      reason: "stale_timestamp",
    });
    expect(verifyComposioWebhook(headersFor(at(now + 301), String(now + 301)), body, [secret], now)).toEqual({
      ok: false,
      reason: "future_timestamp",
    });
    expect(verifyComposioWebhook(headersFor(at(now - 300), String(now - 300)), body, [secret], now)).toEqual({ ok: true });
    expect(verifyComposioWebhook(headersFor(at(now), "12abc"), body, [secret], now)).toEqual({ ok: false, reason: "bad_timestamp" });
    expect(verifyComposioWebhook({ id, timestamp: undefined, signature: at(now) }, body, [secret], now)).toEqual({
      ok: false,
      reason: "missing_headers",
    });
  });
});
