import { EventEmitter } from "node:events";
import type { Principal } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { FeedClient, isAfter } from "./client.js";
import { CLOSE_CODES } from "./protocol.js";

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith: { code: number; reason: string } | null = null;
  send(payload: string, callback?: (error?: Error) => void): void {
    this.sent.push(payload);
    callback?.();
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

const apiKey: Principal = { kind: "api_key", tenantId: "t", apiKeyId: "k", scopes: ["*"] };
const limits = { maxBufferedBytes: 100, maxPendingEvents: 3 };

function client(principal: Principal = apiKey, overrides: Partial<typeof limits> = {}) {
  const socket = new FakeSocket();
  return { socket, client: new FeedClient(socket as unknown as WebSocket, principal, { ...limits, ...overrides }) };
}

describe("FeedClient", () => {
  it("holds live events until goLive, then sends only those newer than the floor, once", () => {
    const { socket, client: c } = client();
    c.offer("1-0", "a");
    c.offer("2-0", "b");
    c.offer("3-0", "c");
    expect(socket.sent).toEqual([]);
    c.advance("2-0");
    c.goLive();
    expect(socket.sent).toEqual(["c"]);
    // The channel is ordered per process: after 3-0, only newer ids can come.
    c.offer("4-0", "d");
    expect(socket.sent).toEqual(["c", "d"]);
  });

  it("drops live events the replay already sent (they reach the channel after the XRANGE reply)", () => {
    const { socket, client: c } = client();
    c.advance("10-5");
    c.goLive();
    c.offer("10-4", "old");
    c.offer("10-5", "same");
    c.offer("10-6", "new");
    c.offer("11-0", "newer");
    expect(socket.sent).toEqual(["new", "newer"]);
  });

  it("never moves its cursor back, and catches up after a hold without doubling", () => {
    const { socket, client: c } = client();
    c.advance("5-0");
    c.goLive();
    c.offer("6-0", "six");
    c.advance("5-9"); // an older position: ignored
    expect(c.cursor).toBe("6-0");
    c.hold();
    c.offer("8-0", "eight"); // held while the stream is read again
    c.sendPage(["seven", "eight"]);
    c.advance("8-0");
    c.goLive();
    c.offer("9-0", "nine");
    expect(socket.sent).toEqual(["six", "seven", "eight", "nine"]);
  });

  it("compares stream ids numerically", () => {
    expect(isAfter("10-0", "9-0")).toBe(true);
    expect(isAfter("9-0", "10-0")).toBe(false);
    expect(isAfter("1700000000000-10", "1700000000000-9")).toBe(true);
    expect(isAfter("1700000000000-9", "1700000000000-9")).toBe(false);
    expect(isAfter("1700000000001-0", "1700000000000-99")).toBe(true);
  });

  it("sees its own user's events only; API keys see everything", () => {
    const user = client({ kind: "user", tenantId: "t", userId: "alice", expiresAt: Math.floor(Date.now() / 1000) + 60 }).client;
    expect(user.sees("alice")).toBe(true);
    expect(user.sees("bob")).toBe(false);
    expect(user.sees(null)).toBe(false);
    user.markClosed();
    expect(client().client.sees(null)).toBe(true);
  });

  it("closes a slow consumer with 4008 instead of queueing more", () => {
    const { socket, client: c } = client();
    c.goLive();
    c.offer("1-0", "a");
    socket.bufferedAmount = 101;
    c.offer("2-0", "b");
    expect(socket.sent).toEqual(["a"]);
    expect(socket.closedWith).toEqual({ code: CLOSE_CODES.slowConsumer, reason: "slow consumer" });
  });

  it("closes with 4008 when too many live events pile up during the start", () => {
    const { socket, client: c } = client();
    for (let i = 1; i <= 4; i++) c.offer(`${i}-0`, String(i));
    expect(socket.closedWith?.code).toBe(CLOSE_CODES.slowConsumer);
    c.goLive();
    expect(socket.sent).toEqual([]);
  });
});
