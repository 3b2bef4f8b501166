import {
  agentSessionIdParamsSchema,
  agentSessionListSchema,
  createAgentSessionBodySchema,
  createdAgentSessionSchema,
  listAgentSessionsQuerySchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { createAgentSession, listAgentSessions, revokeAgentSession } from "../use-cases/agent-sessions.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const BASE = "/api/v1/agent-sessions";
const AGENT_SESSIONS = { auth: ["api_key"] as const, scope: "agent_sessions" as const };

export const agentSessionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    BASE,
    {
      config: AGENT_SESSIONS,
      schema: {
        tags: ["agents"],
        summary: "Open an agent session for a user: a token (shown once) for the MCP server at mcp_url",
        description:
          "toolkits and tools narrow what the session may run; the tenant's tool policy for the user still applies at " +
          "every call, so a session never widens it. ttl_seconds defaults to AGENT_SESSION_TTL_SECONDS.",
        security: API_KEY_SECURITY,
        body: createAgentSessionBodySchema,
        response: { 201: createdAgentSessionSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request, reply) => reply.status(201).send(await createAgentSession(ctx, tenantPrincipal(request), request.body)),
  );

  app.get(
    BASE,
    {
      config: AGENT_SESSIONS,
      schema: {
        tags: ["agents"],
        summary: "A user's agent sessions, newest first (never their tokens)",
        security: API_KEY_SECURITY,
        querystring: listAgentSessionsQuerySchema,
        response: { 200: agentSessionListSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listAgentSessions(ctx, tenantPrincipal(request), request.query),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: AGENT_SESSIONS,
      schema: {
        tags: ["agents"],
        summary: "Revoke an agent session: refused at once by every gateway, and its waiting MCP calls ended",
        security: API_KEY_SECURITY,
        params: agentSessionIdParamsSchema,
        response: { 204: z.null().describe("Revoked"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeAgentSession(ctx, tenantPrincipal(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
};
