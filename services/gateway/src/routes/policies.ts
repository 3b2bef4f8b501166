import { toolPolicyQuerySchema, toolPolicyResponseSchema, toolPolicySchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { deleteToolPolicy, getToolPolicy, putToolPolicy } from "../use-cases/tool-policies.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const PATH = "/api/v1/policies/tools";
/** A tenant's rules for its agents: its servers' business, so API keys only. */
const API_KEY_ONLY = { auth: ["api_key"] as const, scope: "policies" as const };
const USER = "With ?user_id=, that user's override (each field it sets replaces the tenant's); without, the tenant's policy.";

export const policyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    PATH,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["policies"],
        summary: "Get the tool policy, as stored and as it applies",
        description: USER,
        security: API_KEY_SECURITY,
        querystring: toolPolicyQuerySchema,
        response: { 200: toolPolicyResponseSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => getToolPolicy(ctx, tenantPrincipal(request), request.query.user_id),
  );

  app.put(
    PATH,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["policies"],
        summary: "Replace the tool policy",
        description:
          `${USER} Patterns: "*", a toolkit slug ("github") or an action pattern ("GMAIL_SEND_*"). Deny beats allow. ` +
          "Applies to requests accepted after the answer, on every gateway; executions already accepted are not affected.",
        security: API_KEY_SECURITY,
        querystring: toolPolicyQuerySchema,
        body: toolPolicySchema,
        response: { 200: toolPolicyResponseSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request) => putToolPolicy(ctx, tenantPrincipal(request), request.query.user_id, request.body),
  );

  app.delete(
    PATH,
    {
      config: API_KEY_ONLY,
      schema: {
        tags: ["policies"],
        summary: "Remove the tool policy (a user's override, or the tenant's: the defaults then apply)",
        security: API_KEY_SECURITY,
        querystring: toolPolicyQuerySchema,
        response: { 200: toolPolicyResponseSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => deleteToolPolicy(ctx, tenantPrincipal(request), request.query.user_id),
  );
};
