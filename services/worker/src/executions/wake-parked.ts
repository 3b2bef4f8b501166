import { endAuthParked, type PrismaClient, resumeAuthParked } from "@kronos/db";
import {
  type ConnectionStatus,
  type EventBus,
  isSettled,
  type Logger,
  queueExecution,
  SYSTEM_ACTOR,
  type TypedQueue,
} from "@kronos/shared";
import { describeError } from "../jobs/failure-policy.js";

export interface WakeDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  /** The worker's queues (every job context has them); without them nothing is woken here (the sweep does it). */
  queues?: { toolExecution: TypedQueue<"toolExecution"> };
}

/**
 * Sign-in on demand: a connection that has settled wakes the executions parked on it: ACTIVE queues each of them
 * again (it runs with no further call from the client); any other settled status ends them (EXPIRED for an expired
 * link, FAILED otherwise, with the reason). Never fails the caller: the gateway's sweep catches what this misses.
 */
export async function wakeParkedOn(
  deps: WakeDeps,
  connection: { id: string; status: ConnectionStatus; statusReason: string | null },
): Promise<void> {
  const queue = deps.queues?.toolExecution;
  if (!queue || !isSettled(connection.status)) return;
  try {
    if (connection.status === "ACTIVE") {
      // The durable record of each job goes with the deployment whose Redis the job goes to (its REDIS_KEY_PREFIX).
      const requeue = { keyPrefix: queue.opts.prefix ?? "bull" };
      const resumed = await resumeAuthParked(deps, connection.id, SYSTEM_ACTOR, requeue, (job) => queueExecution(queue, job));
      if (resumed > 0) deps.logger.info({ resumed }, "the user signed in: parked executions queued again");
    } else {
      const ended = await endAuthParked(deps, connection.id, connection.status, connection.statusReason, SYSTEM_ACTOR);
      if (ended > 0) deps.logger.info({ ended, status: connection.status }, "the sign-in did not happen: parked executions ended");
    }
  } catch (error) {
    deps.logger.error({ err: describeError(error) }, "could not wake the executions parked on a connection (the sweep will)");
  }
}
