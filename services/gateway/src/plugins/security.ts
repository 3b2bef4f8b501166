import cors from "@fastify/cors";
import { API_SECURITY_HEADERS, globalPlugin } from "@kronos/service-kit";
import helmet from "helmet";

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
function securityHeaders(): Record<string, string> {
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

const API_PATH_PREFIX = "/api/";

/**
 * Whether a request's raw URL is under `/api/`. The router decodes percent-escapes (`/%61pi/...` reaches an API
 * route), so a URL with one near its start is decoded before the check; any other URL is checked as it is.
 */
export function isApiPath(url: string): boolean {
  if (url.startsWith(API_PATH_PREFIX)) return true;
  const head = url.slice(0, 3 * API_PATH_PREFIX.length);
  if (!head.includes("%")) return false;
  try {
    return decodeURIComponent(head).startsWith(API_PATH_PREFIX);
  } catch {
    return false;
  }
}

export const securityPlugin = globalPlugin<{ corsOrigins: string }>("security", async (app, options) => {
  // Computed once: running helmet's dozen middlewares per request (as @fastify/helmet does) was a measurable part of
  // the accept path's CPU. Pages (the docs, the queue dashboard) and everything outside the API get helmet's set.
  const pageHeaders = securityHeaders();
  app.addHook("onRequest", (request, reply, done) => {
    reply.headers(isApiPath(request.url) ? API_SECURITY_HEADERS : pageHeaders);
    done();
  });
  // No origin configured: no CORS at all (browsers on other origins are refused by themselves), and no hook to run.
  const origins = corsOrigins(options.corsOrigins);
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins,
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    // The MCP headers too, for browser-based MCP clients on an allowed origin (/mcp).
    allowedHeaders: [
      "authorization",
      "content-type",
      "x-request-id",
      "idempotency-key",
      "mcp-session-id",
      "mcp-protocol-version",
      "last-event-id",
    ],
    exposedHeaders: ["x-request-id", "location", "x-cache", "idempotent-replay", "retry-after", "mcp-session-id", "www-authenticate"],
  });
});
