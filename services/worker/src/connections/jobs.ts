import { isSettled, statusPollJobId } from "@kronos/shared";
import { DelayedError } from "bullmq";
import { describeComposioRefusal } from "../jobs/failure-policy.js";
import { redisCursor } from "../jobs/redis-cursor.js";
import type { JobHandler } from "../jobs/registry.js";
import { runConnectionOp } from "./connection-ops.js";
import { markConnectionFailed } from "./connection-status.js";
import { initiateConnection } from "./initiate-connection.js";
import { pollConnectionStatus } from "./poll-connection-status.js";
import { reconcileConnections } from "./reconcile-connections.js";

/** Starts a connection at Composio; a connection that fails for good ends FAILED with the reason. */
export const initiateConnectionJob: JobHandler<"connection"> = {
  callsComposio: true,
  async run(data, { job, log }, ctx) {
    log.info({ attemptsMade: job.attemptsMade }, "connection job started");
    const result = await initiateConnection({ ...ctx, logger: log }, data);
    log.info({ status: result.status }, "connection job done");
    return result;
  },
  async endRecord(data, failure, ctx, log) {
    await markConnectionFailed(
      { ...ctx, logger: log },
      { connectionId: data.connectionId, tenantId: data.tenantId, reason: failure.message, actor: "worker" },
      isSettled,
    );
  },
};

/** Reads a pending connection's status at Composio, again later (a delayed job) while it is pending. */
export const pollConnectionStatusJob: JobHandler<"statusPoll"> = {
  callsComposio: true,
  // A bounded share of the Composio budget (BullMQ's limiter counts across every worker): polls of many pending
  // connections never crowd out executions.
  workerOptions: (config) => ({
    limiter: { max: Math.max(1, Math.floor(config.COMPOSIO_REQUESTS_PER_MINUTE * config.STATUS_POLL_BUDGET_SHARE)), duration: 60_000 },
  }),
  async run(data, { job, token, log }, ctx) {
    const isMainPoller = job.id === statusPollJobId(data.connectionId);
    const outcome = await pollConnectionStatus({ ...ctx, logger: log }, data, { isMainPoller });
    if (outcome.kind === "done") {
      log.debug({ status: outcome.status, reason: outcome.reason }, "status poll done");
      return { status: outcome.status };
    }
    log.debug({ delayMs: outcome.delayMs, attempt: outcome.attempt }, "connection still pending; polling again later");
    await job.updateData({ ...data, attempt: outcome.attempt });
    await job.moveToDelayed(Date.now() + outcome.delayMs, token);
    throw new DelayedError();
  },
};

/** enable, disable, refresh, delete, update_labels on an existing connection. */
export const connectionOpJob: JobHandler<"connectionOps"> = {
  callsComposio: true,
  async run(data, { log }, ctx) {
    const result = await runConnectionOp({ ...ctx, logger: log }, data);
    log.info({ status: result.status }, "connection op done");
    return result;
  },
  describe4xx: (error) => describeComposioRefusal(error, "The connected account"),
};

/** The repeatable comparison of our connections with Composio's accounts. */
export const reconcileConnectionsJob: JobHandler<"reconcile"> = {
  callsComposio: true,
  // One run at a time per process; runs in several processes are safe (conditional status changes).
  concurrency: () => 1,
  waitsOnInfrastructure: false,
  run(data, { log }, ctx) {
    const tenantId = data.tenantId;
    const key = `${ctx.config.REDIS_KEY_PREFIX}:reconcile:cursor${tenantId ? `:${tenantId}` : ""}`;
    return reconcileConnections({
      prisma: ctx.prisma,
      composio: ctx.composio,
      bus: ctx.bus,
      logger: log,
      cursor: redisCursor(ctx.redis, key),
      ...(tenantId ? { tenantId } : {}),
    });
  },
};
