import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { RouteContext } from "./context.js";
import { CONTROL_PREFIX, controlRoutes } from "./control.js";
import { EmulatorApiError, ERRORS, errorBody } from "./errors.js";
import { FaultRegistry } from "./faults.js";
import { RATE_LIMIT_WINDOW_SECONDS, RateLimiter } from "./rate-limit.js";
import { authConfigRoutes } from "./routes/auth-configs.js";
import { catalogueRoutes } from "./routes/catalogue.js";
import { connectedAccountRoutes } from "./routes/connected-accounts.js";
import { linkPageRoutes } from "./routes/link-page.js";
import { triggerRoutes } from "./routes/triggers.js";
import { type ApiVersion, connectedAccountOut, redactSecrets } from "./serialize.js";
import { EmulatorState, type RequestLogEntry } from "./state.js";
import { EMULATOR_ORG_ID, EMULATOR_PROJECT_ID, WEBHOOK_EVENT_TYPES, WebhookDispatcher, type WebhookOptions } from "./webhooks.js";

export interface EmulatorOptions {
  /** The only value of `x-api-key` the API accepts. */
  apiKey: string;
  /** Base URL at which browsers reach the emulator (redirect URLs); defaults to the listening address. */
  publicUrl?: string;
  /** Fastify's `logger` option (pino options or a boolean); off by default. */
  logger?: FastifyServerOptions["logger"];
  /** Lifetime of a hosted connect link; Composio's is about 10 minutes. */
  linkTtlSeconds?: number;
  /** Where and how to deliver Composio's signed webhooks; none are sent without it. */
  webhook?: WebhookOptions;
  /** Organisation-wide limit of API requests in any sliding 60 s window (429 past it); unlimited by default. */
  rateLimitPerMinute?: number | null;
}

export interface EmulatorInternals {
  state: EmulatorState;
  faults: FaultRegistry;
  webhooks: WebhookDispatcher;
  rateLimit: RateLimiter;
}

declare module "fastify" {
  interface FastifyInstance {
    emulator: EmulatorInternals;
  }
}

const API_PREFIXES: ReadonlyArray<{ prefix: string; version: ApiVersion }> = [
  { prefix: "/api/v3.1", version: "v3.1" },
  { prefix: "/api/v3", version: "v3" },
];

function apiVersionOf(path: string): { prefix: string; version: ApiVersion } | null {
  return API_PREFIXES.find((p) => path === p.prefix || path.startsWith(`${p.prefix}/`)) ?? null;
}

/** The emulator as a Fastify app, not listening. */
export function createEmulatorApp(options: EmulatorOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    forceCloseConnections: true,
    genReqId: () => `req_${randomBytes(8).toString("hex")}`,
  });
  const state = new EmulatorState();
  const faults = new FaultRegistry();
  const webhooks = new WebhookDispatcher(options.webhook, app.log);
  const initialRateLimit = options.rateLimitPerMinute ?? null;
  if (initialRateLimit !== null && (!Number.isInteger(initialRateLimit) || initialRateLimit < 1)) {
    throw new Error("rateLimitPerMinute must be a positive integer (or null for no limit)");
  }
  const rateLimit = new RateLimiter(initialRateLimit);
  app.decorate("emulator", { state, faults, webhooks, rateLimit });

  // Whatever makes an account EXPIRED (the control API today), Composio tells the project.
  state.onAccountStatusChange((account) => {
    if (account.status !== "EXPIRED") return;
    webhooks.emit(
      WEBHOOK_EVENT_TYPES.connectedAccountExpired,
      { project_id: EMULATOR_PROJECT_ID, org_id: EMULATOR_ORG_ID, user_id: account.userId, connected_account_id: account.id },
      connectedAccountOut(state, account, "v3.1"),
      state.nowIso(),
    );
  });
  const logEntries = new WeakMap<object, RequestLogEntry>();

  const publicUrl = () => {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, "");
    const address = app.server.address() as AddressInfo | null;
    return address ? `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}` : "http://127.0.0.1";
  };

  // JSON bodies, tolerating an empty body (clients send POST/DELETE without one).
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new EmulatorApiError(ERRORS.BAD_REQUEST, "Request body is not valid JSON"), undefined);
    }
  });

  app.addHook("onRequest", async (request, reply) => {
    const path = request.url.split("?")[0] ?? request.url;
    if (path.startsWith(CONTROL_PREFIX)) return;
    const api = apiVersionOf(path);
    const entry: RequestLogEntry = {
      seq: state.nextSeq(),
      method: request.method,
      path,
      route: api ? path.slice(api.prefix.length) || "/" : path,
      apiVersion: api?.version ?? null,
      query: request.url.slice(path.length + 1),
      time: state.nowIso(),
    };
    state.requests.push(entry);
    logEntries.set(request, entry);
    if (!api) return;

    const decision = rateLimit.take();
    if (!decision.allowed) {
      entry.rateLimited = true;
      return reply
        .code(429)
        .headers({
          "retry-after": String(decision.retryAfterSeconds),
          "x-ratelimit": String(decision.limit),
          "x-ratelimit-remaining": "0",
          "x-ratelimit-window-size": String(RATE_LIMIT_WINDOW_SECONDS),
        })
        .send({ message: `Rate limit exceeded. Please retry after ${decision.retryAfterSeconds} seconds.` });
    }
    if (decision.limit !== null) {
      reply.headers({
        "x-ratelimit": String(decision.limit),
        "x-ratelimit-remaining": String(decision.remaining),
        "x-ratelimit-window-size": String(RATE_LIMIT_WINDOW_SECONDS),
      });
    }

    const fault = faults.take(request.method, entry.route);
    if (fault) {
      entry.fault = fault.kind;
      if (await faults.apply(fault, request, reply)) return reply;
    }
    if (request.headers["x-api-key"] !== options.apiKey) {
      return reply.code(401).send(errorBody(ERRORS.UNAUTHORIZED, 401, "Invalid or missing API key (x-api-key)", request.id));
    }
  });

  app.addHook("preHandler", async (request) => {
    const entry = logEntries.get(request);
    if (entry && request.body !== undefined) entry.body = redactSecrets(request.body);
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof EmulatorApiError) {
      return reply.code(error.status).send(errorBody(error.kind, error.status, error.message, request.id));
    }
    const status = typeof (error as { statusCode?: unknown }).statusCode === "number" ? (error as { statusCode: number }).statusCode : 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(ERRORS.BAD_REQUEST, status, (error as Error).message, request.id));
    }
    request.log.error({ err: error }, "emulator handler failed");
    return reply.code(500).send(errorBody(ERRORS.INTERNAL, 500, "Internal server error", request.id));
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(ERRORS.NOT_FOUND, 404, `Route ${request.method} ${request.url.split("?")[0]} not found`, request.id)),
  );

  // Faults that let the request run and then delay or drop its answer (a tool that ran, an answer that never came).
  app.addHook("onSend", async (request, _reply, payload) => {
    await faults.beforeAnswer(request);
    return payload;
  });

  app.addHook("onClose", async () => {
    faults.releaseHanging();
    webhooks.close();
  });

  for (const { prefix, version } of API_PREFIXES) {
    const ctx: RouteContext = { state, version, publicUrl, linkTtlSeconds: options.linkTtlSeconds ?? 600 };
    app.register(
      async (api) => {
        await authConfigRoutes(api, ctx);
        await connectedAccountRoutes(api, ctx);
        await catalogueRoutes(api, ctx);
        await triggerRoutes(api, ctx);
      },
      { prefix },
    );
  }
  app.register(async (pages) => linkPageRoutes(pages, state));
  app.register(async (control) => controlRoutes(control, { state, faults, webhooks, rateLimit, initialRateLimit }), {
    prefix: CONTROL_PREFIX,
  });
  return app;
}
