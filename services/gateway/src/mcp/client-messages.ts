import { AppError, actorOf } from "@kronos/shared";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { AgentSessionPrincipal, GatewayContext } from "../context.js";
import { idempotencyRedisKey } from "../lib/idempotency.js";
import { agentPrincipal } from "../lib/principal.js";
import { cancelExecution } from "../use-cases/execution-decisions.js";
import { type OpenCalls, requestKey } from "./open-calls.js";
import { callIdempotencyKey, ELICITATION_ID_PREFIX, executionOfElicitation } from "./server.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Handles what a client sends that is about a call held open elsewhere, possibly on another gateway instance: the
 * answer to one of our elicitations (a user who declines the sign-in or the approval link: the execution is cancelled)
 * and `notifications/cancelled` (the execution of that request is cancelled, if it is still queued or parked). Both
 * act on the state in Postgres and Redis, which the waiting call reads; nothing has to reach the instance holding it.
 * Returns the messages left for the MCP server.
 */
export async function answerClientMessages(
  ctx: GatewayContext,
  session: AgentSessionPrincipal,
  protocolSessionId: string,
  messages: Array<Record<string, unknown>>,
  openCalls: OpenCalls,
): Promise<JSONRPCMessage[]> {
  const rest: JSONRPCMessage[] = [];
  for (const message of messages) {
    if (message === null || typeof message !== "object") {
      rest.push(message as JSONRPCMessage);
      continue;
    }
    if (typeof message.id === "string" && message.id.startsWith(ELICITATION_ID_PREFIX) && message.method === undefined) {
      await onElicitationAnswer(ctx, session, message);
      continue;
    }
    if (message.method === "notifications/cancelled") {
      const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof requestId === "string" || typeof requestId === "number") {
        openCalls.abortRequest(requestKey(protocolSessionId, requestId));
        await cancelCall(ctx, session, protocolSessionId, requestId, "The agent's client cancelled the call");
      }
      continue;
    }
    rest.push(message as JSONRPCMessage);
  }
  return rest;
}

/**
 * The user declined (or dismissed) the link: the execution waiting for it is cancelled, so the call ends. An accept,
 * or an error from the client (it could not show the link), leaves it waiting: the call answers at its deadline.
 * The answer's id names the execution, and a client can write any id: only an execution this agent session requested
 * (the only ones it is asked about) is cancelled, never the user's own or another session's.
 */
async function onElicitationAnswer(ctx: GatewayContext, session: AgentSessionPrincipal, message: Record<string, unknown>) {
  const action = (message.result as { action?: unknown } | undefined)?.action;
  const executionId = executionOfElicitation(String(message.id));
  if ((action !== "decline" && action !== "cancel") || !UUID.test(executionId)) return;
  const principal = agentPrincipal(session);
  const ours = await ctx.prisma.execution.count({
    where: { id: executionId, tenantId: session.tenantId, userId: session.userId, requestedBy: actorOf(principal) },
  });
  if (ours === 0) return;
  const reason = action === "decline" ? "The user declined" : "The user dismissed the request";
  await ignoreSettled(cancelExecution(ctx, principal, executionId, reason));
}

/** Cancels the execution a tools/call request started (found by the request's idempotency key), if it is still pending. */
async function cancelCall(
  ctx: GatewayContext,
  session: AgentSessionPrincipal,
  protocolSessionId: string,
  requestId: string | number,
  reason: string,
) {
  const key = idempotencyRedisKey(ctx.config.REDIS_KEY_PREFIX, session.tenantId, callIdempotencyKey(protocolSessionId, requestId));
  const claimed = await ctx.redis.get(key);
  const executionId = claimed?.split("|")[0];
  if (!executionId || !UUID.test(executionId)) return;
  await ignoreSettled(cancelExecution(ctx, agentPrincipal(session), executionId, reason));
}

/** Already final, running, or not this user's: nothing to cancel (a cancellation is advisory in MCP). */
async function ignoreSettled(cancelling: Promise<unknown>): Promise<void> {
  try {
    await cancelling;
  } catch (error) {
    if (error instanceof AppError && (error.code === "CONFLICT" || error.code === "NOT_FOUND")) return;
    throw error;
  }
}
