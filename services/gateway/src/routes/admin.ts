import {
  createTenantBodySchema,
  createTenantResponseSchema,
  effectiveRateLimitsSchema,
  tenantIdParamsSchema,
  tenantRateLimitsSchema,
  tenantSettingsSchema,
  updateTenantSettingsBodySchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { createTenant } from "../use-cases/create-tenant.js";
import { getTenantRateLimits, setTenantRateLimits } from "../use-cases/tenant-rate-limits.js";
import { getTenantSettings, setTenantSettings } from "../use-cases/tenant-settings.js";
import { ADMIN_SECURITY, errorResponses } from "./responses.js";

export const adminRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    "/api/v1/admin/tenants",
    {
      config: { auth: ["admin"] },
      schema: {
        tags: ["admin"],
        summary: "Create a tenant and its first API key (shown once)",
        security: ADMIN_SECURITY,
        body: createTenantBodySchema,
        response: { 201: createTenantResponseSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request, reply) => reply.status(201).send(await createTenant(ctx.prisma, { name: request.body.name, actor: "admin" })),
  );

  app.get(
    "/api/v1/admin/tenants/:id/rate-limits",
    {
      config: { auth: ["admin"] },
      schema: {
        tags: ["admin"],
        summary: "A tenant's request rate limits: those in force, and its own overrides",
        security: ADMIN_SECURITY,
        params: tenantIdParamsSchema,
        response: { 200: effectiveRateLimitsSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getTenantRateLimits(ctx, request.params.id),
  );

  app.put(
    "/api/v1/admin/tenants/:id/rate-limits",
    {
      config: { auth: ["admin"] },
      schema: {
        tags: ["admin"],
        summary: "Override a tenant's request rate limits (null: back to the default; a limit that does not exist: 400)",
        security: ADMIN_SECURITY,
        params: tenantIdParamsSchema,
        body: tenantRateLimitsSchema,
        response: { 200: effectiveRateLimitsSchema, ...errorResponses(400, 401, 403, 404, 415) },
      },
    },
    async (request) => setTenantRateLimits(ctx, request.params.id, request.body, "admin"),
  );

  app.get(
    "/api/v1/admin/tenants/:id/settings",
    {
      config: { auth: ["admin"] },
      schema: {
        tags: ["admin"],
        summary: "A tenant's settings (its user verifier)",
        security: ADMIN_SECURITY,
        params: tenantIdParamsSchema,
        response: { 200: tenantSettingsSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getTenantSettings(ctx, request.params.id),
  );

  app.put(
    "/api/v1/admin/tenants/:id/settings",
    {
      config: { auth: ["admin"] },
      schema: {
        tags: ["admin"],
        summary: "Change a tenant's settings (as PUT /api/v1/tenant/settings does for the tenant itself)",
        security: ADMIN_SECURITY,
        params: tenantIdParamsSchema,
        body: updateTenantSettingsBodySchema,
        response: { 200: tenantSettingsSchema, ...errorResponses(400, 401, 403, 404, 415) },
      },
    },
    async (request) => setTenantSettings(ctx, request.params.id, request.body, "admin"),
  );
};
