import { bearerCredential, type Registry, safeEqual, serviceHealthResponseSchema } from "@kronos/shared";
import Fastify, { type FastifyInstance } from "fastify";

export interface HealthServerOptions {
  /** Served on GET /metrics (Prometheus text format) to the operator only. */
  metrics?: { registry: Registry; adminToken: string };
}

/**
 * The worker's only HTTP surface: a liveness answer for the orchestrator and, with a registry, GET /metrics
 * (job durations and outcomes, queue depths, process metrics) behind the admin bearer token.
 */
export function buildHealthServer(options: HealthServerOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/health", async () => serviceHealthResponseSchema.parse({ status: "ok", service: "worker" }));
  const metrics = options.metrics;
  if (metrics) {
    app.get("/metrics", async (request, reply) => {
      const credential = bearerCredential(request.headers.authorization);
      if (!credential || !safeEqual(credential, metrics.adminToken)) {
        return reply
          .code(401)
          .header("www-authenticate", 'Bearer realm="worker"')
          .send({ error: { code: "UNAUTHENTICATED", message: "GET /metrics needs the admin token" } });
      }
      const body = await metrics.registry.metrics();
      return reply.header("content-type", metrics.registry.contentType).send(body);
    });
  }
  return app;
}
