import type { Redis } from "ioredis";
import { luaScript } from "../redis.js";
import { EVENT_TYPES, type EventDraft, type FeedEvent, type TypedEventDraft } from "./schemas.js";

/**
 * The event bus: every event is appended to its tenant's Redis stream (kept for resuming clients) and published on
 * one channel (so every webhooks instance delivers it to its own sockets). One Lua call does both atomically, so
 * the stream id, which increases per tenant, is also the event's id on the channel.
 */
const appendAndPublish = luaScript(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[2])
if KEYS[3] then redis.call('PUBLISH', KEYS[3], ARGV[3]) end
return id`);

export const eventKeys = (prefix: string) => ({
  channel: `${prefix}:events`,
  stream: (tenantId: string) => `${prefix}:events:${tenantId}`,
  /**
   * Where a request waiting for an execution (`?wait=`) hears that it changed (final, or parked): one channel per
   * execution, so that only the gateway that waits for it receives the message (nobody, most of the time).
   */
  executionChanged: (executionId: string) => `${prefix}:execution-changed:${executionId}`,
});

/** What travels on the channel and in the stream, besides the id. */
export interface BusEnvelope {
  tenantId: string;
  userId: string | null;
  event: Omit<FeedEvent, "id">;
}

/** Runs after an event is appended and published (the outbox of outbound webhooks); awaited by `publish`. */
export type PublishedListener = (event: FeedEvent, draft: EventDraft) => Promise<unknown>;

export class EventBus {
  private readonly keys;
  private readonly listeners: PublishedListener[] = [];
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly retention: number,
  ) {
    this.keys = eventKeys(prefix);
  }

  /**
   * Appends and publishes one event; its data must be its type's (see EVENT_DATA_SCHEMAS). An execution's event
   * (`execution.completed`, `execution.status`) also wakes whoever waits for that execution, in the same call, on its
   * `executionChanged` channel: with `options.view` (the final execution as the API shows it, JSON) when the
   * publisher has it at hand, else an empty message (the waiter then reads the row).
   */
  async publish(draft: TypedEventDraft, options: { view?: string } = {}): Promise<FeedEvent> {
    const envelope: BusEnvelope = {
      tenantId: draft.tenantId,
      userId: draft.userId,
      event: { type: draft.type, ts: new Date().toISOString(), data: draft.data },
    };
    const body = JSON.stringify(envelope);
    const keys = [this.keys.stream(draft.tenantId), this.keys.channel];
    const args: Array<string | number> = [this.retention, body];
    if (draft.type === EVENT_TYPES.executionCompleted || draft.type === EVENT_TYPES.executionStatus) {
      keys.push(this.keys.executionChanged(draft.data.execution_id));
      args.push(draft.type === EVENT_TYPES.executionCompleted ? (options.view ?? "") : "");
    }
    const id = (await appendAndPublish(this.redis, keys, args)) as string;
    const event: FeedEvent = { id, ...envelope.event };
    // After the append: sockets get the event without waiting; the publisher's job waits, so a failure here fails
    // the job, which is retried (at least once).
    for (const listener of this.listeners) await listener(event, draft);
    return event;
  }

  /** Adds a listener run after every publish (see PublishedListener). */
  afterPublish(listener: PublishedListener): this {
    this.listeners.push(listener);
    return this;
  }
}

/** Parses a channel message back into its envelope and id. Returns null for anything malformed. */
export function decodeBusMessage(message: string): (BusEnvelope & { id: string }) | null {
  const space = message.indexOf(" ");
  if (space <= 0) return null;
  try {
    const envelope = JSON.parse(message.slice(space + 1)) as BusEnvelope;
    return { id: message.slice(0, space), ...envelope };
  } catch {
    return null;
  }
}

/** Turns a stream entry's body (field "e") back into an envelope. */
export function decodeStreamEntry(id: string, body: string): (BusEnvelope & { id: string }) | null {
  return decodeBusMessage(`${id} ${body}`);
}

export function toFeedEvent(decoded: BusEnvelope & { id: string }): FeedEvent {
  return { type: decoded.event.type, id: decoded.id, ts: decoded.event.ts, data: decoded.event.data };
}

/** Compares two stream ids ("<ms>-<seq>"): negative when a is older. */
export function compareEventIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const byMs = BigInt(am) - BigInt(bm);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(as) - BigInt(bs);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}
