import { createServiceApp, opsRoutes } from "@kronos/service-kit";
import { createLogger, type Logger, type Registry } from "@kronos/shared";
import type { FastifyInstance } from "fastify";

export interface HealthServerOptions {
  /** Served on GET /metrics (Prometheus text format) to the operator only. */
  metrics: { registry: Registry; adminToken: string };
  /** The worker's logger (default: silent). */
  logger?: Logger;
}

/**
 * The worker's only HTTP surface, from the service kit: a liveness answer for the orchestrator and GET /metrics
 * (job durations and outcomes, queue depths, process metrics) behind the admin bearer token.
 */
export function buildHealthServer(options: HealthServerOptions): FastifyInstance {
  const app = createServiceApp({
    service: "worker",
    logger: options.logger ?? createLogger("worker", "silent"),
    // Probes and scrapes every few seconds would drown the job lines; errors are still logged.
    requestLogging: false,
  });
  app.register(opsRoutes, { service: "worker", ...options.metrics });
  return app;
}
