import { executionJobOf, publishTransition, recordAudit, toExecutionView, transitionExecution } from "@kronos/db";
import {
  AppError,
  actorOf,
  EVENT_TYPES,
  type ExecuteToolJob,
  type ExecutionAccepted,
  type ExecutionApprovalRequestedEventData,
  type ExecutionStatus,
  type ExecutionView,
  executionAuditAction,
  notFound,
  PARKED_EXECUTION_STATUSES,
  type Principal,
  queueExecution,
  redactArguments,
  toolkitOfTool,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { requestHash } from "../lib/idempotency.js";
import { getAction } from "./read-catalogue.js";
import { executionPath } from "./read-executions.js";

export const argumentsHash = (args: Record<string, unknown>) => requestHash(args);

/**
 * Parks a new execution AWAITING_APPROVAL: its row (with the arguments' hash, the rules that asked, and until when),
 * its audit row, then `execution.status` and `execution.approval_requested` (secret values redacted). Nothing is
 * queued: approving queues it.
 */
export async function parkForApproval(ctx: GatewayContext, job: ExecuteToolJob, rules: string[]): Promise<ExecutionAccepted> {
  const action = await getAction(ctx, job.toolSlug);
  const { arguments: shown, redacted } = redactArguments(job.arguments, action.input_parameters);
  const hash = argumentsHash(job.arguments);
  const expiresAt = new Date(Date.now() + ctx.config.APPROVAL_TTL_SECONDS * 1000);
  const row = await ctx.prisma.$transaction(async (tx) => {
    const created = await tx.execution.create({
      data: {
        id: job.executionId,
        tenantId: job.tenantId,
        userId: job.userId,
        toolSlug: job.toolSlug,
        connectedAccountId: job.connectedAccountId ?? null,
        arguments: job.arguments as object,
        idempotencyKey: job.idempotencyKey ?? null,
        status: "AWAITING_APPROVAL",
        requestedBy: job.actor,
        parkedUntil: expiresAt,
        argumentsHash: hash,
        approvalArguments: shown as object,
        approvalRules: rules,
      },
    });
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: executionAuditAction("AWAITING_APPROVAL"),
      resourceId: job.executionId,
      data: { user_id: job.userId, tool: job.toolSlug, rules, arguments: shown, arguments_hash: hash },
    });
    return created;
  });
  const reason = { code: "APPROVAL_REQUIRED", message: `Tool "${job.toolSlug}" needs an approval (${rules.join(", ")})` };
  await publishTransition(ctx, row, null, job.actor, reason, null);
  const request: ExecutionApprovalRequestedEventData = {
    execution_id: row.id,
    user_id: row.userId,
    tool: row.toolSlug,
    toolkit: toolkitOfTool(row.toolSlug),
    arguments: shown,
    redacted,
    arguments_hash: hash,
    rules,
    requested_by: job.actor,
    expires_at: expiresAt.toISOString(),
  };
  await ctx.bus.publish({ type: EVENT_TYPES.executionApprovalRequested, tenantId: row.tenantId, userId: row.userId, data: request });
  return parkedAnswer(toExecutionView(row));
}

/** The 202 body of a parked (or queued) execution. */
export function parkedAnswer(view: ExecutionView): ExecutionAccepted {
  const status = view.status === "AWAITING_APPROVAL" || view.status === "AWAITING_AUTH" ? view.status : "QUEUED";
  return {
    execution_id: view.execution_id,
    status,
    poll_url: executionPath(view.execution_id),
    ...(view.approval && status === "AWAITING_APPROVAL" ? { approval: view.approval } : {}),
    ...(view.authorization && status === "AWAITING_AUTH" ? { authorization: view.authorization } : {}),
  };
}

/** The caller's execution row: another tenant's, or another user's for a user token, is 404. */
async function ownExecution(ctx: GatewayContext, principal: Principal, executionId: string) {
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  const row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId, ...userScope } });
  if (!row) throw notFound("Execution");
  return row;
}

const conflict = (status: ExecutionStatus, message: string) => new AppError("CONFLICT", message, { status });

/**
 * Approves or denies a parked execution, once: by the user's own token, or by an API key when the policy that
 * applies to the user says `api_key_may_approve`. After its expiry the execution ends EXPIRED (409). Approving
 * queues it with exactly the arguments it was parked with (the hash, when given, must be theirs).
 */
export async function decideExecution(
  ctx: GatewayContext,
  principal: Principal,
  executionId: string,
  decision: { approve: boolean; argumentsHash?: string | undefined; reason?: string | undefined },
): Promise<ExecutionView> {
  // An agent never approves its own calls: approving is a person's act (the user's token, or a permitted API key).
  if (principal.kind === "user" && principal.agentSessionId !== undefined)
    throw new AppError("FORBIDDEN", "An agent session may not approve or deny");
  const row = await ownExecution(ctx, principal, executionId);
  if (principal.kind === "api_key" && !(await ctx.policies.matcher(principal.tenantId, row.userId)).policy.api_key_may_approve) {
    throw new AppError("FORBIDDEN", "The tool policy lets only the user approve or deny (api_key_may_approve is false)");
  }
  if (row.status !== "AWAITING_APPROVAL") throw conflict(row.status, `The execution is ${row.status}, not AWAITING_APPROVAL`);
  if (await expireIfDue(ctx, row)) throw conflict("EXPIRED", "The approval request expired");
  if (decision.argumentsHash !== undefined && decision.argumentsHash !== row.argumentsHash) {
    throw conflict(row.status, "arguments_hash is not the hash of this execution's arguments");
  }
  const actor = actorOf(principal);
  const notExpired = { parkedUntil: { gt: new Date() } };
  const decided = { decidedBy: actor, decidedAt: new Date(), parkedUntil: null };
  const moved = decision.approve
    ? await transitionExecution(
        ctx,
        row,
        ["AWAITING_APPROVAL"],
        // Recorded with the decision (accepted_jobs): a Redis that loses the job before it runs cannot lose the run.
        { to: "QUEUED", actor, reason: null, data: decided, requeue: requeueOf(ctx) },
        notExpired,
      )
    : await transitionExecution(
        ctx,
        row,
        ["AWAITING_APPROVAL"],
        { to: "DENIED", actor, reason: { code: "DENIED", message: decision.reason ?? "Denied" }, data: decided },
        notExpired,
      );
  if (!moved) {
    // Someone decided first, or the clock ran out in between.
    const now = await ownExecution(ctx, principal, executionId);
    if (now.status === "AWAITING_APPROVAL" && (await expireIfDue(ctx, now))) throw conflict("EXPIRED", "The approval request expired");
    throw conflict(now.status, `The execution is ${now.status}, not AWAITING_APPROVAL`);
  }
  if (decision.approve) await queueExecution(ctx.queues.toolExecution, executionJobOf(moved.row), ctx.config.COMPOSIO_MAX_ATTEMPTS);
  return toExecutionView(moved.row);
}

/** Where the durable record of an execution queued again goes, and its attempts (see Requeue in packages/db). */
export const requeueOf = (ctx: GatewayContext) => ({
  keyPrefix: ctx.config.REDIS_KEY_PREFIX,
  attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS,
});

/** Ends a parked execution whose time is up (EXPIRED); whether it did (or found it so). */
async function expireIfDue(ctx: GatewayContext, row: { id: string; tenantId: string; parkedUntil: Date | null; status: string }) {
  if (!row.parkedUntil || row.parkedUntil.getTime() > Date.now()) return false;
  await expireExecution(ctx, row);
  return true;
}

/** Moves a parked execution past its time to EXPIRED (and publishes it); false when it was not parked any more. */
export async function expireExecution(ctx: GatewayContext, row: { id: string; tenantId: string; status: string }): Promise<boolean> {
  const reason =
    row.status === "AWAITING_AUTH"
      ? { code: "EXPIRED", message: "The sign-in link expired before the user signed in" }
      : { code: "EXPIRED", message: "No one approved the execution in time" };
  const moved = await transitionExecution(
    ctx,
    row,
    PARKED_EXECUTION_STATUSES,
    { to: "EXPIRED", actor: "system", reason },
    {
      parkedUntil: { lte: new Date() },
    },
  );
  return moved !== null;
}

/**
 * Cancels a QUEUED or parked execution. A RUNNING one is never cut off (409 with its status). A queued execution
 * whose row the worker has not written yet gets a CANCELLED row, which the worker respects when the job comes up.
 */
export async function cancelExecution(
  ctx: GatewayContext,
  principal: Principal,
  executionId: string,
  reasonText: string | undefined,
): Promise<ExecutionView> {
  const actor = actorOf(principal);
  const reason = { code: "CANCELLED", message: reasonText ?? "Cancelled" };
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  let row = await ctx.prisma.execution.findFirst({ where: { id: executionId, tenantId: principal.tenantId, ...userScope } });
  if (!row) {
    const job = await ctx.queues.toolExecution.getJob(executionId);
    const data = job?.data as ExecuteToolJob | undefined;
    if (!job || !data || data.tenantId !== principal.tenantId || (principal.kind === "user" && data.userId !== principal.userId)) {
      throw notFound("Execution");
    }
    // The worker creates the row when it starts: create it first, QUEUED, and cancel it like any other.
    await ctx.prisma.execution.createMany({
      data: [
        {
          id: data.executionId,
          tenantId: data.tenantId,
          userId: data.userId,
          toolSlug: data.toolSlug,
          arguments: data.arguments as object,
          connectedAccountId: data.connectedAccountId ?? null,
          idempotencyKey: data.idempotencyKey ?? null,
          requestedBy: data.actor,
          status: "QUEUED",
        },
      ],
      skipDuplicates: true,
    });
    row = await ownExecution(ctx, principal, executionId);
  }
  const moved = await transitionExecution(ctx, row, ["QUEUED", ...PARKED_EXECUTION_STATUSES], { to: "CANCELLED", actor, reason });
  if (!moved) {
    const now = await ownExecution(ctx, principal, executionId);
    throw conflict(now.status, `The execution is ${now.status}: only a QUEUED or parked execution can be cancelled`);
  }
  // Best effort: a job that is not running any more goes; if it comes up anyway, the worker finds the row final.
  await ctx.queues.toolExecution.remove(executionId).catch(() => 0);
  return toExecutionView(moved.row);
}
