import { type Config, createLogger, type LineSink, type Logger, lazyChildLogger } from "@kronos/shared";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import { clientErrorHandler, errorsPlugin, routerErrorHandler } from "./errors.js";
import { acceptEmptyJsonBodies } from "./json-body.js";
import { genRequestId, requestIdPlugin } from "./request-id.js";

export interface ServiceAppOptions {
  /** Names the service in every log line. */
  service: string;
  /** LOG_LEVEL and LOG_FORMAT (for the default logger), TRUST_PROXY (default false). */
  config?: Partial<Pick<Config, "LOG_LEVEL" | "LOG_FORMAT" | "TRUST_PROXY">>;
  /** The process's logger; by default one is made from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger;
  /** Where that default logger writes (stdout by default); tests capture lines with it. */
  logStream?: LineSink;
  /** Log each request and its answer (Fastify's "incoming request" / "request completed" lines); default true. */
  requestLogging?: boolean;
  /**
   * How long a request may take to arrive (headers and body) before it is answered 408; Node's default (300 s)
   * otherwise. Tests set a short one.
   */
  requestTimeoutMs?: number;
  /** Largest request body (Fastify's default, 1 MiB, otherwise). */
  bodyLimit?: number;
}

/**
 * A Fastify instance with what every service shares: the logger (a request's child logger made only when the request
 * logs something), request ids, JSON bodies (an empty one with a JSON content type is no body), and one error shape
 * for everything that can go wrong, from a route's typed error to a bad percent-escape or a request that timed out.
 * The service registers its plugins and routes (and `opsRoutes` for /health and /metrics) after these, then calls
 * `ready()` or `listen()`.
 */
export function createServiceApp(options: ServiceAppOptions): FastifyInstance {
  const config = options.config ?? {};
  const logger =
    options.logger ??
    createLogger(options.service, config.LOG_LEVEL ?? "info", {
      format: config.LOG_FORMAT ?? "auto",
      ...(options.logStream ? { stream: options.logStream } : {}),
    });
  const app = Fastify({
    loggerInstance: logger,
    // A request's child logger is made only if the request logs something at an enabled level (see lazyChildLogger).
    childLoggerFactory: (parent, bindings, childOptions) =>
      lazyChildLogger(parent as unknown as Logger, bindings, childOptions as Record<string, unknown>) as unknown as typeof parent,
    ...(options.requestLogging === false ? { logController: new LogController({ disableRequestLogging: true }) } : {}),
    genReqId: genRequestId,
    requestIdHeader: false,
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.requestTimeoutMs
      ? {
          requestTimeout: options.requestTimeoutMs,
          // Node checks for late requests this often (every 30 s by default).
          http: { connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(options.requestTimeoutMs / 2))) },
        }
      : {}),
    trustProxy: config.TRUST_PROXY ?? false,
    return503OnClosing: true,
    frameworkErrors: routerErrorHandler,
    clientErrorHandler,
  }) as unknown as FastifyInstance;
  acceptEmptyJsonBodies(app);
  // Loaded in order, before whatever the service registers next, when the app becomes ready.
  app.register(requestIdPlugin);
  app.register(errorsPlugin);
  return app;
}
