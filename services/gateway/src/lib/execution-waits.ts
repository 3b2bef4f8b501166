import { blockingOptionsOf, eventKeys, type Redis } from "@kronos/shared";

/**
 * What woke a waiting request: the execution's view as the worker recorded it (JSON, final), or `null` when the
 * message carried none (a status change: parked, queued again; a final status set elsewhere; a large result) or the
 * subscription was re-established (a message may have been missed): the row then says.
 */
export type ExecutionWake = { view: string | null };

/** One request's wait for one execution (see ExecutionWaits.watch). */
export interface ExecutionWatch {
  /** Settles once Redis has the subscription: only then may the job be added (its end cannot be missed). */
  readonly ready: Promise<void>;
  /** The next wake-up, or undefined when `ms` pass without one. */
  next(ms: number): Promise<ExecutionWake | undefined>;
  close(): void;
}

/**
 * How a request with `?wait=` learns that its execution is final (or parked): every `execution.completed` and
 * `execution.status` is also published on the execution's own channel, in the same Redis call (EventBus); the
 * worker's, right after the outcome commits, carries the execution's view. One subscriber connection per gateway,
 * subscribed to a channel only while a request waits on it, so a gateway hears only about its own waiters. While the
 * connection is down, messages are lost: when it is back, every waiter is woken with no view and reads the row, and a
 * wait that ends reads it anyway.
 */
export class ExecutionWaits {
  private subscriber: Redis | null = null;
  /** Per channel: its listeners, and the subscription (acknowledged or not yet). */
  private readonly waiters = new Map<string, { listeners: Set<(wake: ExecutionWake) => void>; subscribed: Promise<void> }>();
  private readonly keys;
  /** Channels to unsubscribe from at the end of this turn (see leave). */
  private readonly leaving = new Set<string>();
  private leaveScheduled = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.keys = eventKeys(prefix);
  }

  watch(executionId: string): ExecutionWatch {
    const channel = this.keys.executionChanged(executionId);
    const pending: ExecutionWake[] = [];
    let wakeUp: ((wake: ExecutionWake) => void) | null = null;
    const listener = (wake: ExecutionWake) => {
      if (wakeUp) wakeUp(wake);
      else pending.push(wake);
    };
    const subscriber = this.connection();
    let entry = this.waiters.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), subscribed: subscriber.subscribe(channel).then(() => undefined) };
      // A failure is the caller's (it awaits `ready`); never an unhandled rejection.
      entry.subscribed.catch(() => undefined);
      this.waiters.set(channel, entry);
    }
    entry.listeners.add(listener);
    const ready = entry.subscribed;
    let closed = false;
    /** Ends a `next` still waiting, as its time running out would (a closed watch hears nothing more). */
    let giveUp: (() => void) | null = null;
    return {
      ready,
      next: (ms) => {
        const queued = pending.shift();
        if (queued) return Promise.resolve(queued);
        if (closed) return Promise.resolve(undefined);
        return new Promise((resolve) => {
          const timer = setTimeout(() => giveUp?.(), ms);
          giveUp = () => {
            clearTimeout(timer);
            wakeUp = null;
            giveUp = null;
            resolve(undefined);
          };
          wakeUp = (wake) => {
            clearTimeout(timer);
            wakeUp = null;
            giveUp = null;
            resolve(wake);
          };
        });
      },
      close: () => {
        if (closed) return;
        closed = true;
        giveUp?.();
        const current = this.waiters.get(channel);
        current?.listeners.delete(listener);
        if (current && current.listeners.size === 0) {
          this.waiters.delete(channel);
          this.leave(channel);
        }
      },
    };
  }

  /**
   * Unsubscribes from channels nobody waits on any more, in one command per turn of the event loop: after the
   * answers of this turn are written (not before the request's answer), and not from a channel watched again meanwhile.
   */
  private leave(channel: string): void {
    this.leaving.add(channel);
    if (this.leaveScheduled) return;
    this.leaveScheduled = true;
    setImmediate(() => {
      this.leaveScheduled = false;
      const channels = [...this.leaving].filter((name) => !this.waiters.has(name));
      this.leaving.clear();
      if (channels.length > 0 && this.subscriber) this.subscriber.unsubscribe(...channels).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  /** The subscriber connection, opened on first use (a gateway whose clients never wait opens none). */
  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    // With an offline queue and no command timeout (a subscriber waits); ioredis subscribes again after a reconnect.
    const subscriber = this.redis.duplicate({ ...blockingOptionsOf(this.redis), connectionName: `${this.prefix}:execution-waits` });
    subscriber.on("error", () => {});
    subscriber.on("message", (channel: string, message: string) => {
      const entry = this.waiters.get(channel);
      if (!entry) return;
      const wake = { view: message.length > 0 ? message : null };
      for (const listener of entry.listeners) listener(wake);
    });
    let connectedBefore = false;
    subscriber.on("ready", () => {
      // Back after a disconnection: whatever was published meanwhile is lost; every waiter looks at its row.
      if (connectedBefore) for (const entry of this.waiters.values()) for (const listener of entry.listeners) listener({ view: null });
      connectedBefore = true;
    });
    this.subscriber = subscriber;
    return subscriber;
  }
}
