import type { PrismaClient, Sql } from "@kronos/db";
import type { ComposioPort, Config, EventBus, Logger, QueueKey, Redis, TypedQueue } from "@kronos/shared";
import type { AttemptsInFlight } from "../executions/execute-tool.js";

/**
 * Everything a job handler may use, built once by startWorkers and passed down to every handler: no handler opens
 * its own connection or builds its own dependencies.
 */
export interface JobContext {
  config: Config;
  prisma: PrismaClient;
  /** The pg pool behind `prisma`, for the hot statements (`createDatabase`); without it they go through `prisma`. */
  sql?: Sql;
  /** Wrapped with the shared rate budget by main.ts (withRateBudget), so every call counts against it. */
  composio: ComposioPort;
  bus: EventBus;
  /** The service's logger; a handler logs through the job's own child logger (`JobRun.log`). */
  logger: Logger;
  /** One non-blocking Redis connection shared by the queues and small keys (the reconcile cursor). */
  redis: Redis;
  /** Every queue of the contracts, to add follow-up jobs (status polls...). */
  queues: { [K in QueueKey]: TypedQueue<K> };
  /** Adds the connection's status-poll job (idempotent: one per connection). */
  enqueueStatusPoll(input: { connectionId: string; tenantId: string }): Promise<void>;
  /** The execution attempts running in this process (see AttemptsInFlight in executions/execute-tool.ts). */
  attemptsInFlight: AttemptsInFlight;
}
