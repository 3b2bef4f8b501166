import type { Principal } from "@kronos/shared";
import type { WebSocket } from "ws";
import { CLOSE_CODES } from "./protocol.js";

export interface ClientLimits {
  /** Above this many bytes waiting in the socket's send buffer, the client is a slow consumer (closed 4008). */
  maxBufferedBytes: number;
  /** Live events held while the snapshot and the replay are being sent; more than this is a slow consumer too. */
  maxPendingEvents: number;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether stream id `a` is after `b` ("<ms>-<seq>", no leading zeros): allocation-light, as it runs per socket per
 * event.
 */
export function isAfter(a: string, b: string): boolean {
  const ad = a.indexOf("-");
  const bd = b.indexOf("-");
  if (ad !== bd) return ad > bd;
  // Same length too (the usual live case): the sequence parts have the same length, so the text compares as numbers.
  if (a.length === b.length) return a > b;
  // Same length: comparing the digits as text compares the numbers.
  const am = a.slice(0, ad);
  const bm = b.slice(0, bd);
  if (am !== bm) return am > bm;
  const as = a.slice(ad + 1);
  const bs = b.slice(bd + 1);
  return as.length !== bs.length ? as.length > bs.length : as > bs;
}

/** A serialised event: the text, or its UTF-8 bytes encoded once for every socket (sent as a text frame). */
export type FeedPayload = string | Buffer;

/** Buffers are sent as text frames: the fan-out encodes an event once rather than once per socket. */
const TEXT_FRAME = { binary: false } as const;

/**
 * One feed socket. Its `cursor` is the id up to which it has had everything it may see; it only moves forward, and
 * an event at or below it is never sent (so replays and the live channel never double up).
 *
 * While "holding" (at start, and while catching up after the subscriber reconnected), live events are kept; `goLive`
 * sends the kept ones after the cursor, then every live one.
 */
export class FeedClient {
  /** Cleared at each heartbeat, set again by the pong. */
  alive = true;
  private live = false;
  private closed = false;
  private pending: Array<{ id: string; payload: FeedPayload }> = [];
  private cursorId: string | null = null;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly principal: Principal,
    private readonly limits: ClientLimits,
    /** Called when the client closed itself for a reason of ours (4001, 4008, ...), for counters. */
    private readonly onServerClose: (code: number) => void = () => {},
    /** Called with the number of events (not control messages) handed to the socket, for counters. */
    private readonly onDelivered: (count: number) => void = () => {},
  ) {
    socket.on("pong", () => {
      this.alive = true;
    });
    if (principal.kind === "user") {
      const delay = Math.min(Math.max(principal.expiresAt * 1000 - Date.now(), 0), MAX_TIMER_MS);
      this.expiryTimer = setTimeout(() => this.close(CLOSE_CODES.tokenExpired, "token expired"), delay);
      this.expiryTimer.unref();
    }
  }

  get tenantId(): string {
    return this.principal.tenantId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isLive(): boolean {
    return this.live;
  }

  /** Up to where the client has had everything (null before its start set it). */
  get cursor(): string | null {
    return this.cursorId;
  }

  /** Whether an event about `userId` (null: tenant-wide) is for this client. */
  sees(userId: string | null): boolean {
    return this.principal.kind === "api_key" || (userId !== null && userId === this.principal.userId);
  }

  /**
   * A live event from the channel, already filtered and serialised. Returns whether it was sent now; the caller
   * counts deliveries (the hub once per event for all its sockets, not once per socket).
   */
  offer(id: string, payload: FeedPayload): boolean {
    if (this.closed) return false;
    if (!this.live) {
      if (this.pending.length >= this.limits.maxPendingEvents) {
        this.close(CLOSE_CODES.slowConsumer, "too many pending events");
        return false;
      }
      this.pending.push({ id, payload });
      return false;
    }
    if (this.cursorId !== null && !isAfter(id, this.cursorId)) return false;
    if (!this.send(payload)) return false;
    this.cursorId = id;
    return true;
  }

  /** Moves the cursor forward (never back): a replayed page was sent up to `id`. */
  advance(id: string): void {
    if (this.cursorId === null || isAfter(id, this.cursorId)) this.cursorId = id;
  }

  /** Keeps live events instead of sending them, until `goLive`. */
  hold(): void {
    this.live = false;
  }

  private catchUpRequested = false;

  /** The channel may have lost events: a start in progress must read the stream once more before going live. */
  requestCatchUp(): void {
    this.catchUpRequested = true;
  }

  /** Returns whether a catch-up was requested since the last call, and clears the request. */
  takeCatchUpRequest(): boolean {
    const requested = this.catchUpRequested;
    this.catchUpRequested = false;
    return requested;
  }

  /** Sends the kept events after the cursor, then goes live. */
  goLive(): void {
    if (this.closed) return;
    this.live = true;
    const held = this.pending;
    this.pending = [];
    let delivered = 0;
    for (const { id, payload } of held) if (this.offer(id, payload)) delivered += 1;
    if (delivered > 0) this.onDelivered(delivered);
  }

  /**
   * Sends one message unless the client is too far behind (then closes it 4008). Returns false when nothing was
   * sent.
   */
  send(payload: FeedPayload): boolean {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return false;
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CLOSE_CODES.slowConsumer, "slow consumer");
      return false;
    }
    if (typeof payload === "string") this.socket.send(payload);
    else this.socket.send(payload, TEXT_FRAME);
    return true;
  }

  /**
   * Sends a page of replayed events and resolves once ws has handed the last one to the socket: back-pressure for
   * long replays (the slow-consumer check applies per page, since a healthy client may lag by a whole page).
   */
  sendPage(payloads: string[]): Promise<boolean> {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return Promise.resolve(false);
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CLOSE_CODES.slowConsumer, "slow consumer");
      return Promise.resolve(false);
    }
    if (payloads.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      payloads.forEach((payload, index) => {
        if (index < payloads.length - 1) this.socket.send(payload);
        else
          this.socket.send(payload, (error) => {
            if (!error) this.onDelivered(payloads.length);
            resolve(!error && !this.closed);
          });
      });
    });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.markClosed();
    this.onServerClose(code);
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.markClosed();
    this.socket.terminate();
  }

  /** The socket closed (either side): stop timers and drop what was held. */
  markClosed(): void {
    this.closed = true;
    this.pending = [];
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
  }
}
