import {
  authConfigAcceptedSchema,
  authConfigIdParamsSchema,
  authConfigViewSchema,
  createAuthConfigBodySchema,
  listAuthConfigsQuerySchema,
  pageOf,
  updateAuthConfigBodySchema,
} from "@kronos/shared";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { type AuthConfigOutcome, changeAuthConfig } from "../use-cases/change-auth-config.js";
import { getAuthConfig, listAuthConfigs } from "../use-cases/read-auth-configs.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const BASE = "/api/v1/composio/auth-configs";
const WAIT = "The worker does the change; the answer is the stored row, or 202 with a poll_url after CONNECT_WAIT_MS.";
/** Auth configs are the tenant's servers' business: API keys only. */
const API_KEY_ONLY = { auth: ["api_key"] as const, scope: "auth_configs" as const };
const changed = { 200: authConfigViewSchema, 202: authConfigAcceptedSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503) };

/** Sends an outcome (the reply is typed loosely: each route declares its own answers). */
function send(reply: FastifyReply, outcome: AuthConfigOutcome, okStatus = 200): void {
  if (outcome.kind === "deleted") return void reply.status(204).send();
  if (outcome.kind === "accepted") return void reply.status(202).send(outcome.body);
  reply.status(okStatus).send(outcome.body);
}

export const authConfigRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    BASE,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["auth-configs"],
        summary: "List the tenant's auth configs (custom and Composio-managed), newest first",
        description: "Disabled configs only with show_disabled=true; search matches the name, case-insensitively.",
        security: API_KEY_SECURITY,
        querystring: listAuthConfigsQuerySchema,
        response: { 200: pageOf(authConfigViewSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listAuthConfigs(ctx, tenantPrincipal(request), request.query),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["auth-configs"],
        summary: "Get one auth config",
        security: API_KEY_SECURITY,
        params: authConfigIdParamsSchema,
        response: { 200: authConfigViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getAuthConfig(ctx, tenantPrincipal(request), request.params.id),
  );

  app.post(
    BASE,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["auth-configs"],
        summary: "Create a custom auth config (your own OAuth app)",
        description: `201 with the stored config (never its credentials). ${WAIT}`,
        security: API_KEY_SECURITY,
        body: createAuthConfigBodySchema,
        response: { ...changed, 201: authConfigViewSchema },
      },
    },
    async (request, reply) => {
      send(reply, await changeAuthConfig(ctx, tenantPrincipal(request), null, { op: "create", body: request.body }), 201);
    },
  );

  app.put(
    `${BASE}/:id`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["auth-configs"],
        summary: "Rename an auth config or replace its credentials",
        description: WAIT,
        security: API_KEY_SECURITY,
        params: authConfigIdParamsSchema,
        body: updateAuthConfigBodySchema,
        response: changed,
      },
    },
    async (request, reply) => {
      send(reply, await changeAuthConfig(ctx, tenantPrincipal(request), request.params.id, { op: "update", body: request.body }));
    },
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["auth-configs"],
        summary: "Delete an auth config (at Composio and here)",
        security: API_KEY_SECURITY,
        params: authConfigIdParamsSchema,
        response: {
          204: z.null().describe("Deleted"),
          202: authConfigAcceptedSchema,
          ...errorResponses(400, 401, 403, 404, 409, 502, 503),
        },
      },
    },
    async (request, reply) => {
      send(reply, await changeAuthConfig(ctx, tenantPrincipal(request), request.params.id, { op: "delete" }));
    },
  );

  for (const [action, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    app.post(
      `${BASE}/:id/${action}`,
      {
        config: API_KEY_ONLY,
        schema: {
          tags: ["auth-configs"],
          summary: `${enabled ? "Enable" : "Disable"} an auth config`,
          description: WAIT,
          security: API_KEY_SECURITY,
          params: authConfigIdParamsSchema,
          response: changed,
        },
      },
      async (request, reply) => {
        send(reply, await changeAuthConfig(ctx, tenantPrincipal(request), request.params.id, { op: "set_enabled", enabled }));
      },
    );
  }
};
