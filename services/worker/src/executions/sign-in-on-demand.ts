import { randomUUID } from "node:crypto";
import { type Connection, effectiveToolPolicy, readToolPolicies, transitionExecution } from "@kronos/db";
import { type ExecuteToolJob, type ExecutionAuthorization, isSettled, SYSTEM_ACTOR, toolkitOfTool } from "@kronos/shared";
import { markConnectionFailed } from "../connections/connection-status.js";
import { initiateConnection } from "../connections/initiate-connection.js";
import type { JobContext } from "../jobs/context.js";
import { Refusal } from "../jobs/failure-policy.js";

/** A sign-in link this close to its expiry is not handed out again: a new connection is started instead. */
const REUSE_MARGIN_MS = 60_000;

export type SignInDeps = Pick<JobContext, "prisma" | "bus" | "composio" | "config" | "enqueueStatusPoll" | "logger">;

export type SignInOutcome = { kind: "off" } | { kind: "parked"; authorization: ExecutionAuthorization };

/** Execution.errorCode when the sign-in could not even be started (Composio refused the connection). */
export const SIGN_IN_FAILED_CODE = "AUTH_FAILED";

/**
 * Sign-in on demand: the user has no ACTIVE connection of the tool's toolkit. Unless the tenant turned it off, the
 * execution parks AWAITING_AUTH on a connection the user can complete: an INITIATED one whose link is still valid,
 * or a new one started here. The connection's status change to ACTIVE wakes it (connection-status.ts).
 */
export async function parkForSignIn(deps: SignInDeps, job: ExecuteToolJob): Promise<SignInOutcome> {
  const policies = await readToolPolicies(deps.prisma, job.tenantId, job.userId);
  if (!effectiveToolPolicy(policies).sign_in_on_demand) return { kind: "off" };
  const toolkit = toolkitOfTool(job.toolSlug);
  const pending = await deps.prisma.connection.findFirst({
    where: {
      tenantId: job.tenantId,
      userId: job.userId,
      toolkitSlug: toolkit,
      status: { in: ["INITIALIZING", "INITIATED"] },
      OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(Date.now() + REUSE_MARGIN_MS) } }],
    },
    orderBy: { createdAt: "desc" },
  });
  let connection: Pick<Connection, "id" | "redirectUrl" | "expiresAt">;
  if (pending?.status === "INITIATED" && pending.redirectUrl) connection = pending;
  else {
    const connectionId = pending?.id ?? randomUUID();
    // Noted on the execution before Composio is asked: if the start keeps failing until the job gives up, its end
    // (abandonSignIn) fails this connection too, instead of leaving it INITIALIZING for good.
    await deps.prisma.execution.updateMany({
      where: { id: job.executionId, tenantId: job.tenantId, status: "RUNNING" },
      data: { connectionId },
    });
    try {
      const started = await initiateConnection(deps, {
        connectionId,
        tenantId: job.tenantId,
        userId: job.userId,
        toolkit,
        labels: [],
        actor: SYSTEM_ACTOR,
      });
      connection = {
        id: started.connection_id,
        redirectUrl: started.redirect_url,
        expiresAt: started.expires_at ? new Date(started.expires_at) : null,
      };
    } catch (error) {
      // Composio refused the connection for good: it ends FAILED, and so does the execution, saying why.
      if (!(error instanceof Refusal)) throw error; // retryable: the failure policy retries the execution
      const reason = `Could not start a sign-in: ${error.failure.message}`;
      await markConnectionFailed(deps, { connectionId, tenantId: job.tenantId, reason, actor: SYSTEM_ACTOR }, isSettled);
      throw new Refusal({ ...error.failure, message: reason }, { recordCode: SIGN_IN_FAILED_CODE });
    }
  }
  const expiresAt = connection.expiresAt ?? new Date(Date.now() + deps.config.CONNECT_LINK_TTL_SECONDS * 1000);
  const authorization: ExecutionAuthorization = {
    connection_id: connection.id,
    redirect_url: connection.redirectUrl,
    expires_at: expiresAt.toISOString(),
  };
  const reason = { code: "AUTH_REQUIRED", message: `${job.userId} has no ACTIVE ${toolkit} connection: sign in to continue` };
  await transitionExecution(deps, { id: job.executionId, tenantId: job.tenantId }, ["RUNNING"], {
    to: "AWAITING_AUTH",
    actor: SYSTEM_ACTOR,
    reason,
    authorization,
    data: { connectionId: connection.id, parkedUntil: expiresAt },
  });
  return { kind: "parked", authorization };
}

/**
 * The execution ends for good before its sign-in could be started (Composio kept failing, our database stayed away,
 * the worker died too often): the connection it was starting, still INITIALIZING without a Composio account (nobody
 * can complete it, nothing polls it), ends FAILED with the reason, and the execution's failure says it was the
 * sign-in. Answers the failure to record: the given one, or the sign-in's.
 */
export async function abandonSignIn(
  deps: Pick<SignInDeps, "prisma" | "bus" | "logger">,
  job: Pick<ExecuteToolJob, "executionId" | "tenantId">,
  failure: { code: string; message: string },
): Promise<{ code: string; message: string }> {
  const execution = await deps.prisma.execution.findFirst({
    where: { id: job.executionId, tenantId: job.tenantId, status: { in: ["QUEUED", "RUNNING"] }, connectionId: { not: null } },
    select: { connectionId: true },
  });
  if (!execution?.connectionId) return failure;
  const connection = await deps.prisma.connection.findFirst({
    where: { id: execution.connectionId, tenantId: job.tenantId, status: "INITIALIZING", composioAccountId: null },
    select: { id: true },
  });
  if (!connection) return failure;
  const reason = `Could not start a sign-in: ${failure.message}`;
  await markConnectionFailed(deps, { connectionId: connection.id, tenantId: job.tenantId, reason, actor: SYSTEM_ACTOR }, isSettled);
  return { code: SIGN_IN_FAILED_CODE, message: reason };
}
