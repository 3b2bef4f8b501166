import { hash, randomUUID } from "node:crypto";
import { AppError, isInfrastructureError } from "@kronos/shared";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  type JSONRPCMessage,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { FastifyBaseLogger } from "fastify";
import type { AgentSessionPrincipal, GatewayContext } from "../context.js";
import { type AgentRunOutcome, listAgentTools, resolveAgentTool, runAgentTool } from "../use-cases/agent-tools.js";
import { callMetaTool, isMetaTool, META_TOOLS } from "./meta-tools.js";
import type { OpenCalls } from "./open-calls.js";
import { requestKey } from "./open-calls.js";
import type { ProtocolSession } from "./protocol-sessions.js";
import { executionResult, text, toMcpTool } from "./results.js";

/** The id of our elicitation requests: a client's answer names the execution it is about, whichever instance gets it. */
export const ELICITATION_ID_PREFIX = "kronos-elicit:";
export const elicitationRequestId = (executionId: string) => `${ELICITATION_ID_PREFIX}${executionId}:${randomUUID()}`;
export const executionOfElicitation = (id: string) => id.slice(ELICITATION_ID_PREFIX.length).split(":")[0] ?? "";

/** The Idempotency-Key of a tools/call: one execution per request of a protocol session, however often it is sent. */
export const callIdempotencyKey = (protocolSessionId: string, requestId: string | number) =>
  `mcp:${protocolSessionId}:${hash("sha256", `${typeof requestId}:${requestId}`, "hex").slice(0, 32)}`;

const INSTRUCTIONS =
  "Kronos Connect runs third-party tools (GitHub, Gmail, Slack, ...) for one user. Each tool name is a Composio " +
  "action slug. When a tool needs the user to sign in or a person to approve, its result says so with a link to " +
  "relay; the call runs by itself afterwards: fetch its outcome with kronos_get_execution instead of calling the " +
  "tool again. kronos_search_tools finds tools by intent; kronos_connect_toolkit gives a sign-in link.";

export interface McpRequestScope {
  ctx: GatewayContext;
  session: AgentSessionPrincipal;
  protocolSessionId: string;
  protocol: ProtocolSession;
  openCalls: OpenCalls;
  log: FastifyBaseLogger;
  /** Sends a message to the client on the stream of a request (elicitations, their completion). */
  send: (message: JSONRPCMessage, relatedRequestId: string | number) => Promise<void>;
}

/** An MCP server for one HTTP request (stateless transport): everything it knows comes from Postgres and Redis. */
export function buildMcpServer(scope: McpRequestScope): Server {
  const server = new Server(
    { name: "kronos-connect", title: "Kronos Connect", version: "0.1.0" },
    { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    try {
      return { tools: [...META_TOOLS.map((tool) => tool.definition), ...(await listAgentTools(scope.ctx, scope.session)).map(toMcpTool)] };
    } catch (error) {
      throw protocolError(scope, error);
    }
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    const args = request.params.arguments ?? {};
    const progressToken = request.params._meta?.progressToken;
    let progressCount = 0;
    const progress =
      progressToken === undefined
        ? undefined
        : (message: string) =>
            extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress: ++progressCount, message } });
    const call = scope.openCalls.open(scope.session.sessionId, requestKey(scope.protocolSessionId, extra.requestId), extra.signal);
    try {
      if (isMetaTool(name)) return await callMetaTool(scope, name, args, { signal: call.signal, progress });
      const action = await resolveAgentTool(scope.ctx, scope.session, name).catch((error: unknown) => {
        throw error instanceof AppError && error.code === "NOT_FOUND" ? notThisSession(error) : error;
      });
      const elicited: string[] = [];
      const openUrl = scope.protocol.urlElicitation
        ? async (url: string, message: string, executionId: string) => {
            const elicitationId = randomUUID();
            const params = { mode: "url" as const, message, url, elicitationId };
            await scope.send(
              { jsonrpc: "2.0", id: elicitationRequestId(executionId), method: "elicitation/create", params },
              extra.requestId,
            );
            elicited.push(elicitationId);
            return true;
          }
        : undefined;
      const outcome = await runAgentTool(scope.ctx, scope.session, action, args, {
        idempotencyKey: callIdempotencyKey(scope.protocolSessionId, extra.requestId),
        interaction: {
          openUrl,
          progress,
          signal: call.signal,
          parkedWaitMs: scope.ctx.config.MCP_PARKED_WAIT_SECONDS * 1000,
        },
      });
      if (outcome.kind !== "parked") {
        // The link the client showed is done with: it may close its prompt.
        for (const elicitationId of elicited) {
          await scope
            .send({ jsonrpc: "2.0", method: "notifications/elicitation/complete", params: { elicitationId } }, extra.requestId)
            .catch(() => {});
        }
      }
      if (call.signal.aborted && outcome.kind === "parked" && openUrl) return stoppedWaiting(name, outcome, call.signal.reason);
      return runResult(name, outcome);
    } catch (error) {
      return toolError(scope, error);
    } finally {
      call.close();
    }
  });
  return server;
}

function runResult(name: string, outcome: AgentRunOutcome): CallToolResult {
  switch (outcome.kind) {
    case "finished":
      return executionResult(outcome.view);
    case "running":
      return {
        content: text(
          `${name} is still running (execution ${outcome.executionId}). Get its result with kronos_get_execution ` +
            `{ "execution_id": "${outcome.executionId}", "wait_seconds": 30 } rather than calling ${name} again.`,
        ),
        structuredContent: { execution_id: outcome.executionId, status: "QUEUED" },
      };
    case "parked":
      return parkedResult(name, outcome);
  }
}

/** Words an agent can relay to its user, with the link: the call runs by itself once the person has acted. */
function parkedResult(name: string, outcome: Extract<AgentRunOutcome, { kind: "parked" }>): CallToolResult {
  const { accepted, link } = outcome;
  const id = accepted.execution_id;
  const after =
    `It runs by itself once that is done: get its result with kronos_get_execution { "execution_id": "${id}", ` +
    `"wait_seconds": 30 } rather than calling ${name} again (that would run it twice).`;
  const words =
    accepted.status === "AWAITING_AUTH"
      ? `The user must sign in before ${name} can run: ask them to open ${link ?? "the sign-in link (not ready yet)"}` +
        `${accepted.authorization?.expires_at ? ` before ${accepted.authorization.expires_at}` : ""}. ${after}`
      : `${name} needs an approval before it runs (${accepted.approval?.rules.join(", ") ?? "tool policy"}): ask the user ` +
        `to approve execution ${id} at ${link}` +
        `${accepted.approval?.expires_at ? ` before ${accepted.approval.expires_at}` : ""}. ${after}`;
  return {
    content: text(words),
    structuredContent: {
      execution_id: id,
      status: accepted.status,
      link,
      ...(accepted.authorization ? { authorization: accepted.authorization } : {}),
      ...(accepted.approval ? { approval: accepted.approval } : {}),
    },
  };
}

/** The wait ended early (revocation, shutdown, the client left): say what is still pending. */
function stoppedWaiting(name: string, outcome: Extract<AgentRunOutcome, { kind: "parked" }>, reason: unknown): CallToolResult {
  const why = reason instanceof Error ? reason.message : "The wait ended";
  const result = parkedResult(name, outcome);
  return { ...result, content: text(`${why}. Execution ${outcome.accepted.execution_id} is still ${outcome.accepted.status}.`) };
}

const notThisSession = (error: AppError) =>
  new McpError(ErrorCode.InvalidParams, error.message, { code: error.code, details: error.details });

/**
 * An error of a tools/call: a tool the session may not run (unknown, outside its limits, denied by the policy) is a
 * protocol error, as MCP asks; anything else is a tool result with isError, so that the model can read and correct it.
 */
function toolError(scope: McpRequestScope, error: unknown): CallToolResult {
  if (error instanceof AppError && error.code === "TOOL_NOT_ALLOWED") throw notThisSession(error);
  if (error instanceof McpError) throw error;
  const app = asAppError(scope, error);
  return {
    content: text(`${app.code}: ${app.message}`),
    structuredContent: {
      error: { code: app.code, message: app.message, ...(app.status < 500 && app.details ? { details: app.details } : {}) },
    },
    isError: true,
  };
}

/** Anything thrown, as an error safe to show: ours as it is, infrastructure as UNAVAILABLE, the rest INTERNAL (logged). */
export function asAppError(scope: Pick<McpRequestScope, "log">, error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isInfrastructureError(error)) return new AppError("UNAVAILABLE", "A service this call needs is unavailable: retry shortly");
  scope.log.error({ err: error }, "MCP call failed");
  return new AppError("INTERNAL", "Internal error");
}

function protocolError(scope: McpRequestScope, error: unknown): McpError {
  const app = asAppError(scope, error);
  return new McpError(app.status >= 500 ? ErrorCode.InternalError : ErrorCode.InvalidRequest, app.message, { code: app.code });
}
