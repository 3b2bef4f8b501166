import { randomUUID } from "node:crypto";
import {
  AppError,
  actorOf,
  type ExecuteToolBody,
  type ExecuteToolJob,
  type ExecutionAccepted,
  type ExecutionView,
  executionFairShare,
  isFinalExecutionStatus,
  isParkedExecutionStatus,
  JOBS,
  notFound,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { connectionRefWhere } from "../lib/connection-ref.js";
import { toExecutionView } from "../lib/execution-view.js";
import { claimIdempotencyKey, idempotencyRedisKey, releaseIdempotencyKey, requestHash } from "../lib/idempotency.js";
import { addAndWait, currentOutcome, type JobOutcome } from "../lib/job-wait.js";
import { scopedUserId } from "../lib/principal.js";
import { checkToolAccess } from "../lib/tool-access.js";
import { parkedAnswer, parkForApproval } from "./execution-decisions.js";
import { authorizationOf, executionPath, getExecution } from "./read-executions.js";

export type ExecuteOutcome = { replay: boolean } & ({ kind: "done"; body: ExecutionView } | { kind: "accepted"; body: ExecutionAccepted });

/**
 * Queues a tool execution (the job id is the execution id) and, with `wait`, waits that long for it. With an
 * Idempotency-Key, the same request again returns the same execution (enqueued once); another request is 409.
 */
export async function executeTool(
  ctx: GatewayContext,
  principal: Principal,
  body: ExecuteToolBody,
  options: { waitSeconds?: number | undefined; idempotencyKey?: string | undefined },
): Promise<ExecuteOutcome> {
  const { waitSeconds, idempotencyKey } = options;
  if (waitSeconds !== undefined && waitSeconds > ctx.config.EXECUTE_MAX_WAIT_SECONDS) {
    throw new AppError("VALIDATION_FAILED", "The request is invalid", [
      { field: "querystring.wait", message: `must be at most ${ctx.config.EXECUTE_MAX_WAIT_SECONDS} seconds` },
    ]);
  }
  assertParamsSize(body.params, ctx.config.EXECUTION_PARAMS_MAX_BYTES);
  const userId = scopedUserId(principal, body.user_id) ?? body.user_id;
  if (body.connected_account_id !== undefined) await assertOwnConnection(ctx, principal.tenantId, userId, body.connected_account_id);
  const waitMs = Math.round((waitSeconds ?? 0) * 1000);

  const executionId = randomUUID();
  let release = async () => {};
  if (idempotencyKey !== undefined) {
    const redisKey = idempotencyRedisKey(ctx.config.REDIS_KEY_PREFIX, principal.tenantId, idempotencyKey);
    const hash = requestHash({ ...body, user_id: userId, connected_account_id: body.connected_account_id ?? null });
    const claim = await claimIdempotencyKey(ctx.redis, redisKey, executionId, hash, ctx.config.IDEMPOTENCY_TTL_SECONDS);
    if (claim.kind === "replay") return replay(ctx, principal, claim.id, waitMs);
    release = () => releaseIdempotencyKey(ctx.redis, redisKey, executionId, hash);
  }

  const data: ExecuteToolJob = {
    executionId,
    tenantId: principal.tenantId,
    userId,
    toolSlug: body.action_name,
    arguments: body.params,
    actor: actorOf(principal),
    ...(body.connected_account_id === undefined ? {} : { connectedAccountId: body.connected_account_id }),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  };
  try {
    // The policy as it is now: a change later never affects this execution once accepted.
    const approvalRules = await checkToolAccess(ctx, principal.tenantId, userId, body.action_name);
    if (approvalRules.length > 0) return { kind: "accepted", replay: false, body: await parkForApproval(ctx, data, approvalRules) };
  } catch (error) {
    await release();
    throw error;
  }

  const { toolExecution: queue, toolExecutionEvents: events } = ctx.queues;
  // Round robin between tenants (see FairShare): the worker releases the share when the job is finished for good.
  const fairShare = executionFairShare(ctx.redis, ctx.config.REDIS_KEY_PREFIX);
  let outcome: JobOutcome;
  let added = false;
  try {
    const priority = await fairShare.admit(principal.tenantId);
    outcome = await addAndWait({ queue, events, jobId: executionId }, waitMs, async () => {
      const job = await queue.add(JOBS.executeTool, data, { jobId: executionId, attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS, priority });
      added = true;
      return job;
    });
  } catch (error) {
    if (!added) await fairShare.release(principal.tenantId).catch(() => {});
    await release();
    throw error;
  }
  return settle(ctx, principal, executionId, outcome, false);
}

/** The same request again: the first one's execution, answered the way a fresh request would be. */
async function replay(ctx: GatewayContext, principal: Principal, executionId: string, waitMs: number): Promise<ExecuteOutcome> {
  const { toolExecution: queue, toolExecutionEvents: events } = ctx.queues;
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId } });
  // Parked: the same parked execution, never a second one.
  if (row && isParkedExecutionStatus(row.status)) {
    return { kind: "accepted", replay: true, body: parkedAnswer(toExecutionView(row, await authorizationOf(ctx, row))) };
  }
  let outcome: JobOutcome = row && isFinalExecutionStatus(row.status) ? { state: "completed", value: null } : { state: "pending" };
  if (outcome.state === "pending" && waitMs > 0) {
    outcome = await currentOutcome(queue, executionId);
    if (outcome.state === "pending") outcome = await addAndWait({ queue, events, jobId: executionId }, waitMs, async () => {});
  }
  return settle(ctx, principal, executionId, waitMs > 0 ? outcome : { state: "pending" }, true);
}

async function settle(
  ctx: GatewayContext,
  principal: Principal,
  executionId: string,
  outcome: JobOutcome,
  replayed: boolean,
): Promise<ExecuteOutcome> {
  if (outcome.state === "pending") {
    return {
      kind: "accepted",
      replay: replayed,
      body: { execution_id: executionId, status: "QUEUED", poll_url: executionPath(executionId) },
    };
  }
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId } });
  if (!row && outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  const view = await getExecution(ctx, principal, executionId);
  if (isParkedExecutionStatus(view.status)) return { kind: "accepted", replay: replayed, body: parkedAnswer(view) };
  return { kind: "done", replay: replayed, body: view };
}

/** What a job keeps in Redis is bounded: params over the limit are refused before anything is queued. */
function assertParamsSize(params: Record<string, unknown>, maxBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(params));
  if (bytes > maxBytes)
    throw new AppError("PAYLOAD_TOO_LARGE", `params is ${bytes} bytes of JSON; at most ${maxBytes} are accepted`, {
      limit: maxBytes,
      size: bytes,
    });
}

/** A given connected account must be a connection of this tenant's user: ours by id, or Composio's ca_ id. */
async function assertOwnConnection(ctx: GatewayContext, tenantId: string, userId: string, given: string): Promise<void> {
  const match = await ctx.prisma.connection.findFirst({
    where: { tenantId, userId, ...connectionRefWhere(given) },
    select: { id: true },
  });
  if (!match) throw notFound("Connected account");
}
