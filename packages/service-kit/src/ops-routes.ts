import { AppError, bearerCredential, hooksOf, type Registry, safeEqual } from "@kronos/shared";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteShorthandOptions } from "fastify";
import { sendError } from "./errors.js";

export interface OpsRoutesOptions {
  /** Named in the /health answer. */
  service: string;
  /** Served on GET /metrics in Prometheus' text format. */
  registry: Registry;
  /** GET /metrics answers only to `Authorization: Bearer <ADMIN_TOKEN>`. */
  adminToken: string;
  /** More options of GET /health and GET /metrics: the gateway's OpenAPI schemas and its own auth declaration. */
  healthRoute?: RouteShorthandOptions;
  metricsRoute?: RouteShorthandOptions;
}

/**
 * Every service's operator surface: `GET /health` (liveness, for the orchestrator) and `GET /metrics` (for
 * Prometheus, behind the admin token: checked here whatever else the host's own auth does).
 */
export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app, options) => {
  const { service, registry, adminToken } = options;
  app.get("/health", { ...options.healthRoute }, async () => ({ status: "ok" as const, service }));

  const adminOnly = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    const credential = bearerCredential(request.headers.authorization);
    if (credential && safeEqual(credential, adminToken)) return done();
    reply.header("www-authenticate", `Bearer realm="${service}"`);
    sendError(request, reply, new AppError("UNAUTHENTICATED", "GET /metrics needs the admin token"));
  };
  app.get(
    "/metrics",
    { ...options.metricsRoute, preHandler: [...hooksOf(options.metricsRoute?.preHandler), adminOnly] },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
