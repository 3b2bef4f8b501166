import { composioHealthResponseSchema, serviceHealthResponseSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { checkHealth } from "../use-cases/check-health.js";

export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get("/health", { schema: { tags: ["health"], summary: "Liveness", response: { 200: serviceHealthResponseSchema } } }, async () => ({
    status: "ok" as const,
    service: "gateway",
  }));

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
