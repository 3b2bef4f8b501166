import {
  type Config,
  decodeLaneEntry,
  type LaneEntry,
  type Logger,
  type Redis,
  type TypedQueue,
  webhookDeliveryJob,
  webhookLaneKey,
} from "@kronos/shared";
import { type AttemptResult, attemptLoaded, type DueDelivery } from "./attempt-delivery.js";
import { type Deliverer, slotReleaser, stepAsideUntil } from "./deliverer.js";
import { EndpointCache, type EndpointRow } from "./endpoint-cache.js";

/** Entries taken in one pop at most, and how long a pop blocks when the lane is empty (so that closing is prompt). */
const MAX_POP = 100;
const BLOCK_SECONDS = 1;
const AFTER_ERROR_MS = 1_000;
/**
 * Deliveries of one endpoint that wait in line for its slots here, at most (past that they step aside at once), and
 * for how long. Waiting in line holds none of the lane's attempts, only memory: a fast endpoint's burst waits its turn
 * (a step aside would delay it by a second or two), a slow endpoint's deliveries step aside after the wait. The wait
 * stays well under the sweeper's interval, which re-enqueues rows due for longer than it.
 */
const MAX_WAITING_PER_ENDPOINT = 1_000;
const MAX_LINE_WAIT_MS = 5_000;

export interface LaneOptions {
  config: Config;
  deliverer: Deliverer;
  /** A connection for the lane alone: BLMPOP blocks it. Its owner closes it. */
  connection: Redis;
  /** Where deliveries go when they must wait (a retry later, an endpoint at its bound): the BullMQ queue. */
  queue: TypedQueue<"webhookDelivery">;
  logger: Logger;
}

export interface RunningLane {
  pause(): void;
  resume(): void;
  /** Stops popping and waits for the attempts under way; `abandon` does not wait (a process that dies). */
  close(abandon?: boolean): Promise<void>;
}

/**
 * The first attempt of each fresh delivery, without a BullMQ job: pops the lane (webhooks-out/lane.ts) in batches
 * (an entry carries its event id and body), finds the entries' endpoints (EndpointCache: read again only when one
 * changed) while it takes their slots in one Redis call, then signs and POSTs each, at most
 * WEBHOOK_DELIVERY_CONCURRENCY at once. A delivery that must wait (a retry on the schedule, its endpoint
 * at its bound) becomes a delayed BullMQ job. Whatever is lost here (the process dies between the pop and the
 * outcome, Postgres or Redis fails) stays PENDING on its row, and the sweeper re-enqueues it.
 */
/** A fresh delivery as its row is: pending, no attempt made, due now; undefined when its endpoint is gone. */
function rowOf(entry: LaneEntry, endpoint: EndpointRow | undefined): DueDelivery | undefined {
  if (!endpoint) return undefined;
  return {
    ...endpoint,
    id: entry.deliveryId,
    status: "PENDING",
    attempts: 0,
    event_id: entry.eventId,
    body: entry.body,
    next_attempt_at: null,
  };
}

export function startDeliveryLane(options: LaneOptions): RunningLane {
  const { config, deliverer, connection, queue, logger } = options;
  const { deps, slots } = deliverer;
  const key = webhookLaneKey(config.REDIS_KEY_PREFIX);
  const limit = config.WEBHOOK_DELIVERY_CONCURRENCY;
  // Entries older than this are the sweeper's (it re-enqueues rows due for longer than its interval): the lane and the
  // sweeper do not both take a delivery that waited long in the lane (a backlog, a worker that was down).
  const freshMs = config.WEBHOOK_SWEEP_INTERVAL_MS / 2;
  const endpoints = new EndpointCache(deps.sql);
  const lineWaitMs = Math.min(MAX_LINE_WAIT_MS, config.WEBHOOK_SWEEP_INTERVAL_MS / 4);
  let inFlight = 0;
  let paused = false;
  let closed = false;
  let abandoned = false;
  let wake: (() => void) | undefined;
  let drained: (() => void) | undefined;

  const room = () =>
    new Promise<void>((resolve) => {
      if (closed || (!paused && inFlight < limit)) resolve();
      else wake = resolve;
    });
  const poke = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const finished = () => {
    inFlight -= 1;
    if (inFlight === 0) drained?.();
    poke();
  };

  async function handOver(entry: LaneEntry, at: number): Promise<void> {
    const { name, data, opts } = webhookDeliveryJob({ id: entry.deliveryId, endpointId: entry.endpointId });
    await queue.add(name, data, { ...opts, delay: Math.max(0, at - Date.now()) }).catch((error: unknown) => {
      logger.warn({ err: error, deliveryId: entry.deliveryId }, "could not queue a webhook delivery; the sweeper will");
    });
  }

  async function deliverOne(entry: LaneEntry, row: DueDelivery | undefined, taken: string | null): Promise<void> {
    if (!row) {
      // Its endpoint was deleted (and its row with it).
      if (taken) slots.release(entry.endpointId, taken);
      return;
    }
    let token = taken;
    if (!token) {
      // Waiting in its endpoint's line holds none of the lane's attempts: other endpoints' deliveries go on.
      inFlight -= 1;
      poke();
      token = await slots.waitFor(entry.endpointId, lineWaitMs, MAX_WAITING_PER_ENDPOINT);
      inFlight += 1;
    }
    if (!token) return handOver(entry, stepAsideUntil());
    const release = slotReleaser(deliverer, entry.endpointId, token);
    let result: AttemptResult;
    try {
      // The slot bounds attempts in flight at the endpoint: it is free again as soon as the endpoint has answered.
      result = await attemptLoaded(deps, row, release);
    } catch (error) {
      logger.warn({ err: error, deliveryId: entry.deliveryId }, "a webhook attempt could not be recorded; the sweeper will retry it");
      return;
    } finally {
      release();
    }
    if (result.kind === "later") await handOver(entry, result.at);
  }

  async function deliverBatch(popped: LaneEntry[]): Promise<void> {
    const oldest = Date.now() - freshMs;
    const entries = popped.filter((entry) => entry.queuedAt >= oldest);
    for (let i = entries.length; i < popped.length; i++) finished();
    let found: Map<string, EndpointRow>;
    let tokens: Array<string | null>;
    try {
      [found, tokens] = await Promise.all([endpoints.forEntries(entries), slots.tryTakeMany(entries.map((e) => e.endpointId))]);
    } catch (error) {
      logger.warn({ err: error, count: entries.length }, "could not start webhook deliveries; the sweeper will");
      for (const _ of entries) finished();
      return;
    }
    await Promise.all(
      entries.map((entry, i) => deliverOne(entry, rowOf(entry, found.get(entry.endpointId)), tokens[i] ?? null).finally(finished)),
    );
  }

  const loop = (async () => {
    while (!closed) {
      await room();
      if (closed) break;
      let popped: [string, string[]] | null;
      try {
        popped = (await connection.blmpop(BLOCK_SECONDS, 1, key, "RIGHT", "COUNT", Math.min(MAX_POP, limit - inFlight))) as
          | [string, string[]]
          | null;
      } catch (error) {
        if (closed) break;
        logger.warn({ err: error }, "could not read the webhook delivery lane; trying again");
        await new Promise((resolve) => setTimeout(resolve, AFTER_ERROR_MS));
        continue;
      }
      const entries = (popped?.[1] ?? []).map(decodeLaneEntry).filter((entry): entry is LaneEntry => entry !== null);
      if (entries.length === 0) continue;
      inFlight += entries.length;
      void deliverBatch(entries);
    }
  })();

  return {
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      poke();
    },
    async close(abandon = false) {
      closed = true;
      poke();
      if (abandon || abandoned) {
        abandoned = true;
        connection.disconnect();
        return;
      }
      await loop;
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await slots.close();
    },
  };
}
