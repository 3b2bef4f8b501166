import type { Redis } from "@kronos/shared";
import { type Queue, QueueEvents } from "bullmq";

/** How long a queue's event reader stays open after its last waiter left. */
const QUEUE_EVENTS_IDLE_MS = 60_000;

/**
 * A queue's event reader (BullMQ QueueEvents: a blocking XREAD of every job event of the queue) that runs only while
 * some request waits for a job. A gateway that only enqueues (most requests: `?wait=` is optional) then reads
 * nothing back from Redis; an always-on reader costs Redis and this process a read for every event of every job.
 *
 * Started on first use from the stream's last entry, not from "new events only": whatever is appended after `use`
 * was called is delivered even if the reader's first XREAD reaches Redis later. Closed `idleMs` after the last use.
 */
export class QueueEventsOnDemand {
  private reader: Promise<QueueEvents> | undefined;
  private users = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly redis: Redis,
    private readonly onError: (error: Error) => void,
    private readonly idleMs = QUEUE_EVENTS_IDLE_MS,
  ) {}

  /** Whether the reader is open (for tests and the idle check). */
  get running(): boolean {
    return this.reader !== undefined;
  }

  /** Runs `waiting` with the queue's event reader, started if needed. */
  async use<T>(waiting: (events: QueueEvents) => Promise<T>): Promise<T> {
    this.users += 1;
    clearTimeout(this.idleTimer);
    try {
      return await waiting(await this.open());
    } finally {
      this.users -= 1;
      if (this.users === 0) {
        this.idleTimer = setTimeout(() => {
          if (this.users === 0) void this.close();
        }, this.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const reader = this.reader;
    this.reader = undefined;
    const events = await reader?.catch(() => undefined);
    await events?.close();
  }

  private open(): Promise<QueueEvents> {
    if (!this.reader) {
      const starting = this.start();
      this.reader = starting;
      starting.catch(() => {
        if (this.reader === starting) this.reader = undefined;
      });
    }
    return this.reader;
  }

  private async start(): Promise<QueueEvents> {
    const last = await this.redis.xrevrange(this.queue.keys.events as string, "+", "-", "COUNT", 1);
    const events = new QueueEvents(this.queue.name, {
      connection: this.redis,
      prefix: this.queue.opts.prefix,
      lastEventId: last[0]?.[0] ?? "0-0",
    });
    events.on("error", this.onError);
    await events.waitUntilReady();
    return events;
  }
}
