import { createTenantBodySchema, createTenantResponseSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { createTenant } from "../use-cases/create-tenant.js";
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
};
