import { createSessionBodySchema, createSessionResponseSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { createSession } from "../use-cases/create-session.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

export const sessionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    "/api/v1/sessions",
    {
      config: { auth: ["api_key"], scope: "sessions" },
      schema: {
        tags: ["sessions"],
        summary: "Issue a short-lived user token for a browser",
        security: API_KEY_SECURITY,
        body: createSessionBodySchema,
        response: { 201: createSessionResponseSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request, reply) => {
      const principal = tenantPrincipal(request);
      const session = createSession({
        tenantId: principal.tenantId,
        userId: request.body.user_id,
        secret: ctx.config.SESSION_SECRET,
        ttlSeconds: ctx.config.SESSION_TTL_SECONDS,
      });
      return reply.status(201).send(session);
    },
  );
};
