import { toAppError } from "@kronos/service-kit";
import { AppError } from "@kronos/shared";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  InitializeRequestSchema,
  type JSONRPCMessage,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { AgentSessionPrincipal, RouteOptions } from "../context.js";
import { agentSessionOf } from "../lib/principal.js";
import { answerClientMessages } from "../mcp/client-messages.js";
import type { OpenCalls } from "../mcp/open-calls.js";
import { closeProtocolSession, findProtocolSession, openProtocolSession, type ProtocolSession } from "../mcp/protocol-sessions.js";
import { buildMcpServer } from "../mcp/server.js";
import { corsOrigins } from "../plugins/security.js";

export interface McpRouteOptions extends RouteOptions {
  openCalls: OpenCalls;
}

const SESSION_HEADER = "mcp-session-id";
const AGENT_SESSION = { auth: ["agent_session"] as const };

/** JSON-RPC's codes for what goes wrong before a message reaches the MCP server (the SDK's transport uses the same). */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;
const SERVER_ERROR = -32000;
const SESSION_NOT_FOUND = -32001;

/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP, with the official SDK's transport and server, one of each
 * per request (stateless): the client's protocol session lives in Redis and its agent session in Postgres, so any
 * gateway instance serves any request, behind a load balancer without stickiness.
 *
 * Every answer of this path is JSON-RPC, errors before the MCP server included (`{ jsonrpc, error: { code, message,
 * data: { code } }, id: null }` with the HTTP status our error code maps to), as MCP clients expect on this endpoint.
 */
export const mcpRoutes: FastifyPluginAsync<McpRouteOptions> = async (app, { ctx, openCalls }) => {
  const allowedOrigins = new Set([...corsOrigins(ctx.config.CORS_ORIGINS), new URL(ctx.config.PUBLIC_GATEWAY_URL).origin]);
  app.setErrorHandler((error: FastifyError, request, reply) => sendRpcError(request, reply, error));

  /** DNS-rebinding protection, as MCP asks of HTTP servers: a browser page from another origin is refused. */
  const checkOrigin = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin))
      return done(new AppError("FORBIDDEN", "This Origin may not use /mcp (CORS_ORIGINS)"));
    done();
  };
  const route = { config: AGENT_SESSION, onRequest: checkOrigin, schema: { hide: true } };

  app.post("/mcp", route, async (request, reply) => {
    const session = agentSessionOf(request);
    const body = request.body as unknown;
    if (body === undefined) throw Object.assign(new AppError("BAD_REQUEST", "Parse error: the body is empty"), { rpcCode: PARSE_ERROR });
    const messages = (Array.isArray(body) ? body : [body]) as Array<Record<string, unknown>>;
    // Before anything is stored: a request of ours that does not fit its method's schema (an initialize included).
    const invalid = messages.length === 1 ? invalidParams(messages[0] as JSONRPCMessage) : invalidBatch(messages);
    if (invalid) return reply.status(200).type("application/json").send(invalid);
    const initialize = messages.find((m) => m !== null && typeof m === "object" && m.method === "initialize");

    let protocolSessionId: string;
    let protocol: ProtocolSession;
    if (initialize) {
      const params = (initialize.params ?? {}) as { protocolVersion?: unknown; capabilities?: { elicitation?: { url?: unknown } } };
      protocol = {
        agentSessionId: session.sessionId,
        protocolVersion: typeof params.protocolVersion === "string" ? params.protocolVersion.slice(0, 32) : "",
        urlElicitation: typeof params.capabilities?.elicitation?.url === "object" && params.capabilities.elicitation.url !== null,
      };
      protocolSessionId = await openProtocolSession(ctx.redis, ctx.config.REDIS_KEY_PREFIX, protocol, session.expiresAt);
      reply.header(SESSION_HEADER, protocolSessionId);
    } else {
      ({ protocolSessionId, protocol } = await currentProtocolSession(request, session));
    }

    // Answers to our elicitations and cancellations are state changes any instance can make; the rest goes to the SDK.
    const forServer = await answerClientMessages(ctx, session, protocolSessionId, messages, openCalls);
    if (forServer.length === 0) return reply.status(202).send();
    await serve(request, reply, { session, protocolSessionId, protocol }, forServer);
  });

  app.get("/mcp", route, async (_request, reply) => {
    // No server-initiated stream: every message of ours answers a request (MCP lets a server refuse the GET).
    return reply
      .status(405)
      .header("allow", "POST, DELETE")
      .send(rpcError(SERVER_ERROR, "Method not allowed: this server opens no stream on GET"));
  });

  app.delete("/mcp", route, async (request, reply) => {
    const session = agentSessionOf(request);
    const { protocolSessionId } = await currentProtocolSession(request, session);
    await closeProtocolSession(ctx.redis, ctx.config.REDIS_KEY_PREFIX, protocolSessionId);
    return reply.status(200).send();
  });

  async function currentProtocolSession(request: FastifyRequest, session: AgentSessionPrincipal) {
    const id = request.headers[SESSION_HEADER];
    if (typeof id !== "string" || id.length === 0) {
      throw Object.assign(new AppError("BAD_REQUEST", "Bad Request: Mcp-Session-Id header is required"), { rpcCode: SERVER_ERROR });
    }
    const protocol = await findProtocolSession(ctx.redis, ctx.config.REDIS_KEY_PREFIX, id, session.sessionId, session.expiresAt);
    if (!protocol) throw Object.assign(new AppError("NOT_FOUND", "Session not found: initialize again"), { rpcCode: SESSION_NOT_FOUND });
    return { protocolSessionId: id, protocol };
  }

  /** Hands the request to a fresh SDK transport and server, which answer on the raw response (JSON or SSE). */
  async function serve(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: { session: AgentSessionPrincipal; protocolSessionId: string; protocol: ProtocolSession },
    messages: JSONRPCMessage[],
  ): Promise<void> {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const server = buildMcpServer({
      ctx,
      ...scope,
      openCalls,
      log: request.log,
      send: (message, relatedRequestId) => transport.send(message, { relatedRequestId }),
    });
    transport.onerror = (error) => request.log.debug({ err: error }, "MCP transport");
    reply.raw.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    // The headers set so far (security, rate limits, request id, the session id) go out with the SDK's answer.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value as string);
    reply.hijack();
    await transport.handleRequest(request.raw, reply.raw, messages.length === 1 ? messages[0] : messages);
  }
};

/** The request schemas of the methods we serve: a request that does not fit is answered -32602 here. */
const REQUEST_SCHEMAS: Record<
  string,
  { safeParse(value: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }
> = {
  initialize: InitializeRequestSchema,
  "tools/list": ListToolsRequestSchema,
  "tools/call": CallToolRequestSchema,
};

/**
 * Invalid params, as JSON-RPC says (-32602), for a request of ours whose params do not fit the method's schema; the
 * SDK would answer -32603 (internal error) with the validator's text. Null when the request is well formed.
 */
function invalidParams(message: JSONRPCMessage): object | null {
  if (message === null || typeof message !== "object") return null;
  const request = message as { id?: unknown; method?: unknown };
  if (typeof request.method !== "string" || (typeof request.id !== "string" && typeof request.id !== "number")) return null;
  const schema = REQUEST_SCHEMAS[request.method];
  const parsed = schema?.safeParse(message);
  if (!parsed || parsed.success) return null;
  const issue = parsed.error?.issues[0];
  const where = issue ? issue.path.map(String).join(".") : "params";
  return {
    jsonrpc: "2.0",
    id: request.id,
    error: { code: INVALID_PARAMS, message: `Invalid params: ${where} ${issue?.message ?? "is invalid"}`.slice(0, 500) },
  };
}

/**
 * A batch holding a request that does not fit its method's schema, or an initialize (which MCP does not allow in a
 * batch), is answered as a whole, nothing of it run or stored: each request gets its error (-32602 for the ill-formed,
 * -32600 for the others), as JSON-RPC asks of a batch. Null when the batch may go on.
 */
function invalidBatch(messages: Array<Record<string, unknown>>): object[] | null {
  const answers = messages.map((message) => {
    if (message !== null && typeof message === "object" && message.method === "initialize") {
      const id = typeof message.id === "string" || typeof message.id === "number" ? message.id : null;
      return { jsonrpc: "2.0", id, error: { code: INVALID_REQUEST, message: "Invalid Request: initialize must not be part of a batch" } };
    }
    return invalidParams(message as JSONRPCMessage);
  });
  if (answers.every((answer) => answer === null)) return null;
  return messages.flatMap((message, index) => {
    const answer = answers[index];
    if (answer) return [answer];
    const id = message !== null && typeof message === "object" ? message.id : undefined;
    if (typeof id !== "string" && typeof id !== "number") return [];
    return [
      {
        jsonrpc: "2.0",
        id,
        error: { code: INVALID_REQUEST, message: "Invalid Request: not run, another request of this batch is invalid" },
      },
    ];
  });
}

const rpcError = (code: number, message: string, data?: unknown) => ({
  jsonrpc: "2.0" as const,
  error: { code, message, ...(data === undefined ? {} : { data }) },
  id: null,
});

/** Any error of this path as a JSON-RPC error, with the HTTP status our error code maps to. */
function sendRpcError(request: FastifyRequest, reply: FastifyReply, thrown: FastifyError & { rpcCode?: number }) {
  const invalidJson = thrown.code === "FST_ERR_CTP_INVALID_JSON_BODY" || thrown instanceof SyntaxError;
  const error = toAppError(thrown);
  if (error.status >= 500) request.log.error({ err: (error as { cause?: unknown }).cause ?? error }, "MCP request failed");
  const code =
    thrown.rpcCode ?? (invalidJson ? PARSE_ERROR : error.status === 400 || error.status === 413 ? INVALID_REQUEST : SERVER_ERROR);
  const message = invalidJson ? "Parse error: the body is not valid JSON" : error.message;
  const details = error.status < 500 && error.details !== undefined ? { details: error.details } : {};
  if (error.status === 401) reply.header("www-authenticate", 'Bearer realm="mcp", error="invalid_token"');
  const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
  if (typeof retryAfter === "number") reply.header("retry-after", String(retryAfter));
  return reply
    .status(error.status)
    .type("application/json; charset=utf-8")
    .send(rpcError(code, message, { code: error.code, ...details }));
}
