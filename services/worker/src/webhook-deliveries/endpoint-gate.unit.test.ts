import { describe, expect, it } from "vitest";
import { EndpointGate } from "./endpoint-gate.js";

describe("EndpointGate", () => {
  it("lets `limit` in per endpoint, queues `limit` more, and turns the rest away", async () => {
    const gate = new EndpointGate(2);
    expect(await gate.acquire("a", 10_000)).toBe(true);
    expect(await gate.acquire("a", 10_000)).toBe(true);
    expect(await gate.acquire("b", 10_000)).toBe(true);
    const waiting = [gate.acquire("a", 10_000), gate.acquire("a", 10_000)];
    expect(await gate.acquire("a", 10_000)).toBe(false);
    gate.release("a");
    gate.release("a");
    expect(await Promise.all(waiting)).toEqual([true, true]);
  });

  it("gives up waiting after the wait", async () => {
    const gate = new EndpointGate(1);
    expect(await gate.acquire("a", 10_000)).toBe(true);
    expect(await gate.acquire("a", 1)).toBe(false);
    gate.release("a");
    expect(await gate.acquire("a", 1)).toBe(true);
  });
});
