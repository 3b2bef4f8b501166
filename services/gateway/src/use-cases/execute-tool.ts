import { randomUUID } from "node:crypto";
import { toExecutionView } from "@kronos/db";
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
  markLatency,
  notFound,
  type Principal,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { acceptJob } from "../lib/accepted-jobs.js";
import { connectionRefWhere } from "../lib/connection-ref.js";
import type { ExecutionWatch } from "../lib/execution-waits.js";
import { claimIdempotencyKey, idempotencyRedisKey, releaseIdempotencyKey, requestHash } from "../lib/idempotency.js";
import { currentOutcome } from "../lib/job-wait.js";
import { scopedUserId } from "../lib/principal.js";
import { checkToolAccess } from "../lib/tool-access.js";
import { parkedAnswer, parkForApproval } from "./execution-decisions.js";
import { authorizationOf, executionPath } from "./read-executions.js";

export type ExecuteOutcome = { replay: boolean } & (
  | {
      kind: "done";
      body: ExecutionView;
      /** The same, as the worker serialised it (toExecutionView): sent as it is, without serialising it again. */
      json?: string;
    }
  | { kind: "accepted"; body: ExecutionAccepted }
);

/**
 * Queues a tool execution (the job id is the execution id) and, with `wait`, waits that long for it to end: also
 * while it is parked for an approval or a sign-in (it answers the parked state, with what it waits for, when the wait
 * ends). With an Idempotency-Key, the same request again returns the same execution (enqueued once); another request
 * is 409.
 */
export async function executeTool(
  ctx: GatewayContext,
  principal: Principal,
  body: ExecuteToolBody,
  options: {
    waitSeconds?: number | undefined;
    idempotencyKey?: string | undefined;
    /**
     * The wait ends as soon as the execution is parked, with the parked state (a protocol that shows the user the
     * link, then waits its own way: MCP). By default `?wait=` waits through parking.
     */
    parkedEndsWait?: boolean;
  },
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
  const wait: Wait = { deadline: Date.now() + waitMs, parkedEndsWait: options.parkedEndsWait === true };

  const executionId = randomUUID();
  // Latency marks (off unless LATENCY_MARKS_FILE): where an execution's time goes, for the benchmark's P7.
  markLatency(executionId, "g.handler");
  let release = async () => {};
  if (idempotencyKey !== undefined) {
    const redisKey = idempotencyRedisKey(ctx.config.REDIS_KEY_PREFIX, principal.tenantId, idempotencyKey);
    const hash = requestHash({ ...body, user_id: userId, connected_account_id: body.connected_account_id ?? null });
    const claim = await claimIdempotencyKey(ctx.redis, redisKey, executionId, hash, ctx.config.IDEMPOTENCY_TTL_SECONDS);
    if (claim.kind === "replay") return replay(ctx, principal, claim.id, waitMs > 0 ? wait : null);
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
  // Listening before anything can end the execution (the subscription is acknowledged before the job is added or
  // the approval asked for), so that its end is never missed.
  const watch = waitMs > 0 ? ctx.executionWaits.watch(executionId) : undefined;
  try {
    let approvalRules: string[];
    try {
      // The policy as it is now: a change later never affects this execution once accepted.
      approvalRules = await checkToolAccess(ctx, principal.tenantId, userId, body.action_name);
      markLatency(executionId, "g.policy");
      if (approvalRules.length > 0) {
        const listening = await listeningIn(watch);
        const parked = await parkForApproval(ctx, data, approvalRules);
        if (!listening || wait.parkedEndsWait) return { kind: "accepted", replay: false, body: parked };
      }
    } catch (error) {
      await release();
      throw error;
    }
    if (approvalRules.length > 0) return await waitForEnd(ctx, principal, executionId, watch, wait, false);

    const queue = ctx.queues.toolExecution;
    // Round robin between tenants (see FairShare): the worker releases the share when the job is finished for good.
    const fairShare = executionFairShare(ctx.redis, ctx.config.REDIS_KEY_PREFIX);
    let admitted = false;
    let added = false;
    let listening = false;
    try {
      const opts = { jobId: executionId, attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS };
      // The fair-share priority, asked of Redis while Postgres stores the record (the record does not keep it: a job
      // the sweeper adds again is admitted again then).
      const admission = fairShare.admitOrLast(principal.tenantId);
      admission.catch(() => undefined);
      // Recorded in Postgres before the 2xx: the worker's sweeper adds it again if Redis loses it.
      const record = { queue: queue.name, name: JOBS.executeTool, jobId: executionId, tenantId: principal.tenantId, data, opts };
      added = await acceptJob(ctx, record, async () => {
        const { priority, counted } = await admission;
        admitted = counted;
        markLatency(executionId, "g.fairshare");
        listening = await listeningIn(watch);
        markLatency(executionId, "g.adding");
        await queue.add(JOBS.executeTool, data, { ...opts, priority });
        markLatency(executionId, "g.added");
      });
    } catch (error) {
      if (admitted && !added) await fairShare.release(principal.tenantId).catch(() => {});
      await release();
      throw error;
    }
    // Not added (Redis away: the sweeper adds it from its record), not listening, or not waiting: 202 at once.
    if (!added || !listening) return queued(executionId, false);
    const answer = await waitForEnd(ctx, principal, executionId, watch, wait, false);
    markLatency(executionId, "g.settled");
    return answer;
  } finally {
    watch?.close();
  }
}

/** Whether the watch (if any) is listening: false when Redis could not take the subscription (then nobody waits). */
async function listeningIn(watch: ExecutionWatch | undefined): Promise<boolean> {
  if (!watch) return false;
  return watch.ready.then(
    () => true,
    () => false,
  );
}

/** How long a request waits, and whether parking ends its wait. */
interface Wait {
  deadline: number;
  parkedEndsWait: boolean;
}

/** The same request again: the first one's execution, answered the way a fresh request would be (waiting as long). */
async function replay(ctx: GatewayContext, principal: Principal, executionId: string, wait: Wait | null): Promise<ExecuteOutcome> {
  if (!wait) {
    // As a fresh request without a wait: 202, with what a parked execution waits for.
    const now = await currentAnswer(ctx, principal, executionId, true);
    return now.kind === "accepted" ? now : queued(executionId, true);
  }
  const watch = ctx.executionWaits.watch(executionId);
  try {
    if (!(await listeningIn(watch))) return await currentAnswer(ctx, principal, executionId, true);
    return await waitForEnd(ctx, principal, executionId, watch, wait, true, true);
  } finally {
    watch.close();
  }
}

/**
 * Waits until the execution is final or the deadline passes, whatever it goes through meanwhile (queued, running,
 * parked for an approval or a sign-in): the final execution (200), else what it is at the deadline (202, a parked one
 * with what it waits for). With `parkedEndsWait`, a parked execution ends the wait too. A wake-up with the worker's
 * view answers without a read; any other one (a status change, a reconnection) reads the row.
 */
async function waitForEnd(
  ctx: GatewayContext,
  principal: Principal,
  executionId: string,
  watch: ExecutionWatch | undefined,
  wait: Wait,
  replayed: boolean,
  lookFirst = false,
): Promise<ExecuteOutcome> {
  const over = (now: ExecuteOutcome) => now.kind === "done" || (wait.parkedEndsWait && now.body.status !== "QUEUED");
  if (lookFirst) {
    const now = await currentAnswer(ctx, principal, executionId, replayed);
    if (over(now)) return now;
  }
  for (;;) {
    const remaining = wait.deadline - Date.now();
    const wake = watch && remaining > 0 ? await watch.next(remaining) : undefined;
    markLatency(executionId, "g.woken");
    if (wake?.view) return { kind: "done", replay: replayed, body: JSON.parse(wake.view) as ExecutionView, json: wake.view };
    const now = await currentAnswer(ctx, principal, executionId, replayed);
    if (over(now) || wake === undefined) return now;
  }
}

const queued = (executionId: string, replayed: boolean): ExecuteOutcome => ({
  kind: "accepted",
  replay: replayed,
  body: { execution_id: executionId, status: "QUEUED", poll_url: executionPath(executionId) },
});

/**
 * What the execution is now, as this route answers it: final (200), parked (202 with what it waits for), or queued or
 * running (202 QUEUED). A job that failed before its execution had a row is that failure.
 */
async function currentAnswer(ctx: GatewayContext, principal: Principal, executionId: string, replayed: boolean): Promise<ExecuteOutcome> {
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId } });
  if (!row) {
    const outcome = await currentOutcome(ctx.queues.toolExecution, executionId).catch(() => ({ state: "pending" }) as const);
    if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
    return queued(executionId, replayed);
  }
  if (isFinalExecutionStatus(row.status)) return { kind: "done", replay: replayed, body: toExecutionView(row) };
  if (isParkedExecutionStatus(row.status)) {
    return { kind: "accepted", replay: replayed, body: parkedAnswer(toExecutionView(row, await authorizationOf(ctx, row))) };
  }
  return queued(executionId, replayed);
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
