import type { Registry } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ADMIN_SECURITY, errorResponses } from "./responses.js";

/** Prometheus scrapes this with the admin token as a Bearer credential. */
export const metricsRoutes: FastifyPluginAsyncZod<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    "/metrics",
    {
      config: { auth: ["admin"] },
      schema: {
        tags: ["ops"],
        summary: "Prometheus metrics (HTTP latency, queue depths, process)",
        security: ADMIN_SECURITY,
        response: {
          200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } },
          ...errorResponses(401, 403),
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
