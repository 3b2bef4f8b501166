import { composioHealthResponseSchema, serviceHealthResponseSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { checkHealth } from "../use-cases/check-health.js";
import { ADMIN_SECURITY, errorResponses } from "./responses.js";

// GET /health and GET /metrics are the service kit's (`opsRoutes`); here, how the gateway documents and guards them.
export const healthRouteOptions = {
  schema: { tags: ["health"], summary: "Liveness", response: { 200: serviceHealthResponseSchema } },
};

/** Prometheus scrapes this with the admin token as a Bearer credential. */
export const metricsRouteOptions = {
  config: { auth: ["admin"] as const },
  schema: {
    tags: ["ops"],
    summary: "Prometheus metrics (HTTP latency, queue depths, process)",
    security: ADMIN_SECURITY,
    response: {
      200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } },
      ...errorResponses(401, 403),
    },
  },
};

export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    "/api/v1/composio/health",
    {
      schema: {
        tags: ["health"],
        summary: "Composio configuration and dependency health",
        description: "200 when Postgres, Redis and Composio all answer; 503 otherwise.",
        response: { 200: composioHealthResponseSchema, 503: composioHealthResponseSchema },
      },
    },
    async (_request, reply) => {
      const health = await checkHealth(ctx);
      return reply.status(health.ok ? 200 : 503).send(health.body);
    },
  );
};
