import { serviceHealthResponseSchema } from "@kronos/shared";
import Fastify, { type FastifyInstance } from "fastify";

/** The worker's only HTTP surface: a liveness answer for the orchestrator. */
export function buildHealthServer(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/health", async () => serviceHealthResponseSchema.parse({ status: "ok", service: "worker" }));
  return app;
}
