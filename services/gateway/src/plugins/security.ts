import cors from "@fastify/cors";
import helmet from "helmet";
import { globalPlugin } from "../lib/global-plugin.js";

/** CORS origins from a comma-separated list; none by default (browsers then get no CORS headers). */
export function corsOrigins(list: string): string[] {
  return list
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
}

export const securityPlugin = globalPlugin<{ corsOrigins: string }>("security", async (app, options) => {
  // The same security headers on every response. Built once: @fastify/helmet builds a helmet middleware on every
  // request (parsing the CSP directives each time), a measurable part of the accept path's CPU.
  // upgrade-insecure-requests would break /docs when it is served over plain HTTP (local runs).
  const securityHeaders = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  app.addHook("onRequest", (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
  const origins = corsOrigins(options.corsOrigins);
  await app.register(cors, {
    origin: origins.length > 0 ? origins : false,
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["authorization", "content-type", "x-request-id", "idempotency-key"],
    exposedHeaders: ["x-request-id", "location", "x-cache", "idempotent-replay", "retry-after"],
  });
});
