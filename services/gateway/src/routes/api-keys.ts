import {
  apiKeyIdParamsSchema,
  apiKeyListSchema,
  createApiKeyBodySchema,
  createdApiKeySchema,
  rotateApiKeyBodySchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from "../use-cases/manage-api-keys.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const BASE = "/api/v1/api-keys";
const TENANT_ADMIN = { auth: ["api_key"] as const, scope: "tenant_admin" as const };

export const apiKeyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    BASE,
    {
      config: TENANT_ADMIN,
      schema: {
        tags: ["api-keys"],
        summary: "List the tenant's API keys (prefix, scopes, created, last used; never the key)",
        security: API_KEY_SECURITY,
        response: { 200: apiKeyListSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => listApiKeys(ctx, tenantPrincipal(request)),
  );

  app.post(
    BASE,
    {
      config: TENANT_ADMIN,
      schema: {
        tags: ["api-keys"],
        summary: "Create an API key with the given scopes (the key is shown once, in this answer)",
        security: API_KEY_SECURITY,
        body: createApiKeyBodySchema,
        response: { 201: createdApiKeySchema, ...errorResponses(400, 401, 403, 409, 415) },
      },
    },
    async (request, reply) => reply.status(201).send(await createApiKey(ctx, tenantPrincipal(request), request.body)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: TENANT_ADMIN,
      schema: {
        tags: ["api-keys"],
        summary: "Revoke an API key: refused at once on every instance, and its open feed sockets closed",
        security: API_KEY_SECURITY,
        params: apiKeyIdParamsSchema,
        response: { 204: z.null().describe("Revoked"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeApiKey(ctx, tenantPrincipal(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${BASE}/:id/rotate`,
    {
      config: TENANT_ADMIN,
      schema: {
        tags: ["api-keys"],
        summary: "Replace an API key: a new key (shown once) with the same scopes; the old one works for overlap_seconds",
        security: API_KEY_SECURITY,
        params: apiKeyIdParamsSchema,
        body: rotateApiKeyBodySchema.optional(),
        response: { 201: createdApiKeySchema, ...errorResponses(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await rotateApiKey(ctx, tenantPrincipal(request), request.params.id, request.body?.overlap_seconds ?? 3_600)),
  );
};
