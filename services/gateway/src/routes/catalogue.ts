import {
  actionPageSchema,
  listActionsQuerySchema,
  listToolkitsQuerySchema,
  toolkitPageSchema,
  toolkitResponseSchema,
  toolkitSlugParamsSchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { scopedUserId, tenantPrincipal } from "../lib/principal.js";
import { getToolkit, listActions, listToolkits } from "../use-cases/read-catalogue.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

const TENANT = { auth: ["api_key", "user"] as const, scope: "catalogue" as const };
const CACHED =
  "Read from Composio and cached for TOOLKIT_CACHE_TTL_SECONDS (header x-cache: hit, miss or stale). When Composio " +
  "fails, a copy up to TOOLKIT_CACHE_STALE_SECONDS past its TTL is served with cache.stale=true; with no copy, 503 " +
  "(with Retry-After when Composio is rate limiting).";
const errors = errorResponses(400, 401, 403, 404, 503);

export const catalogueRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    "/api/v1/composio/toolkits",
    {
      config: TENANT,
      schema: {
        tags: ["catalogue"],
        summary: "List the toolkits (apps) one can connect",
        description: CACHED,
        security: TENANT_SECURITY,
        querystring: listToolkitsQuerySchema,
        response: { 200: toolkitPageSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { body, cacheState } = await listToolkits(ctx, request.query);
      return reply.header("x-cache", cacheState).send(body);
    },
  );

  app.get(
    "/api/v1/composio/toolkits/:slug",
    {
      config: TENANT,
      schema: {
        tags: ["catalogue"],
        summary: "Get one toolkit",
        description: CACHED,
        security: TENANT_SECURITY,
        params: toolkitSlugParamsSchema,
        response: { 200: toolkitResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { body, cacheState } = await getToolkit(ctx, request.params.slug);
      return reply.header("x-cache", cacheState).send(body);
    },
  );

  app.get(
    "/api/v1/composio/toolkits/:slug/actions",
    {
      config: TENANT,
      schema: {
        tags: ["catalogue"],
        summary: "List a toolkit's actions (tools)",
        description: `${CACHED} With user_id (implied for a user token), each action says what the tool policy lets that user do (access).`,
        security: TENANT_SECURITY,
        params: toolkitSlugParamsSchema,
        querystring: listActionsQuerySchema,
        response: { 200: actionPageSchema, ...errors },
      },
    },
    async (request, reply) => {
      const principal = tenantPrincipal(request);
      const userId = scopedUserId(principal, request.query.user_id);
      const access = userId === undefined ? undefined : { tenantId: principal.tenantId, userId };
      const { body, cacheState } = await listActions(ctx, request.params.slug, request.query, access);
      return reply.header("x-cache", cacheState).send(body);
    },
  );
};
