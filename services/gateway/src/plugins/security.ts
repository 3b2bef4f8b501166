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

/**
 * The headers helmet sets, read once by running it against a recording response. upgrade-insecure-requests would
 * break /docs when it is served over plain HTTP (local runs).
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failed: unknown;
  helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } })(
    {} as Parameters<ReturnType<typeof helmet>>[0],
    recorder as unknown as Parameters<ReturnType<typeof helmet>>[1],
    (error?: unknown) => {
      failed = error;
    },
  );
  if (failed) throw failed;
  return headers;
}

export const securityPlugin = globalPlugin<{ corsOrigins: string }>("security", async (app, options) => {
  // The same security headers on every response, computed once: running helmet's dozen middlewares per request
  // (as @fastify/helmet does) was a measurable part of the accept path's CPU.
  const headers = securityHeaders();
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  // No origin configured: no CORS at all (browsers on other origins are refused by themselves), and no hook to run.
  const origins = corsOrigins(options.corsOrigins);
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins,
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["authorization", "content-type", "x-request-id", "idempotency-key"],
    exposedHeaders: ["x-request-id", "location", "x-cache", "idempotent-replay", "retry-after"],
  });
});
