import type { Sql } from "@kronos/db";
import type { Config, EventBus, Redis } from "@kronos/shared";
import { type AttemptDeps, successRecorder } from "./attempt-delivery.js";
import { EndpointSlots } from "./endpoint-slots.js";

/** How long a job waits in process for its endpoint's slot before stepping aside, and how long it then steps aside. */
export const SLOT_WAIT_MS = 1_000;
export const STEP_ASIDE_MS = 1_000;
/** A slot outlives the longest attempt by this much before it lapses (its holder died). */
const SLOT_LEASE_MARGIN_MS = 15_000;

/** What every attempt of one worker process shares: its deps (successes written in batches) and the endpoint slots. */
export interface Deliverer {
  deps: AttemptDeps;
  slots: EndpointSlots;
}

export function createDeliverer(input: { config: Config; sql: Sql; bus: EventBus; redis: Redis; post?: AttemptDeps["post"] }): Deliverer {
  const { config, sql, bus, redis } = input;
  return {
    deps: { config, sql, bus, recordSuccess: successRecorder(sql), ...(input.post ? { post: input.post } : {}) },
    slots: new EndpointSlots(
      redis,
      config.REDIS_KEY_PREFIX,
      config.WEBHOOK_ENDPOINT_CONCURRENCY,
      config.WEBHOOK_TIMEOUT_MS + SLOT_LEASE_MARGIN_MS,
      config.WEBHOOK_TIMEOUT_MS,
    ),
  };
}

/** When a delivery that stepped aside runs again: after STEP_ASIDE_MS and up to as much again (spread, not a herd). */
export function stepAsideUntil(now = Date.now()): number {
  return now + STEP_ASIDE_MS + Math.floor(Math.random() * STEP_ASIDE_MS);
}

/** Gives a slot back once, whichever of the callers comes first (the endpoint's answer, or the attempt's end). */
export function slotReleaser(deliverer: Deliverer, endpointId: string, token: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    deliverer.slots.release(endpointId, token);
  };
}
