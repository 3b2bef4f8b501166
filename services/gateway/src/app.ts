import type { PrismaClient } from "@kronos/db";
import {
  type ComposioPort,
  type Config,
  composioBudgetKey,
  createComposioClient,
  createMetricsRegistry,
  instrumentHttp,
  instrumentQueues,
  type Logger,
  lazyChildLogger,
  loggerOptions,
  RateBudget,
  type Redis,
  withRateBudget,
} from "@kronos/shared";
import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { GatewayContext } from "./context.js";
import { CatalogueCache } from "./lib/catalogue-cache.js";
import { ToolPolicyCache } from "./lib/tool-policies.js";
import { API_KEY_CACHE_DEFAULTS, ApiKeyCache, type ApiKeyCacheOptions, authPlugin } from "./plugins/auth.js";
import { errorsPlugin } from "./plugins/errors.js";
import { queueDashboardPlugin } from "./plugins/queue-dashboard.js";
import { genRequestId, requestIdPlugin } from "./plugins/request-id.js";
import { securityPlugin } from "./plugins/security.js";
import { swaggerPlugin } from "./plugins/swagger.js";
import { createGatewayQueues, queueEmitters } from "./queues.js";
import { adminRoutes } from "./routes/admin.js";
import { authConfigRoutes } from "./routes/auth-configs.js";
import { bulkRoutes } from "./routes/bulk.js";
import { callbackRoutes } from "./routes/callback.js";
import { catalogueRoutes } from "./routes/catalogue.js";
import { connectionOpRoutes } from "./routes/connection-ops.js";
import { connectionRoutes } from "./routes/connections.js";
import { executionRoutes } from "./routes/executions.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";
import { policyRoutes } from "./routes/policies.js";
import { sessionRoutes } from "./routes/sessions.js";
import { toolRoutes } from "./routes/tools.js";
import { triggerRoutes } from "./routes/triggers.js";

export interface GatewayDeps {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  /** A pino logger; by default one is made from LOG_LEVEL. */
  logger?: Logger;
  /** The Composio port for the catalogue; by default the client over COMPOSIO_BASE_URL, within the shared rate budget. */
  composio?: ComposioPort;
  /**
   * The in-process cache of API keys (30 s, 10,000 keys by default; `ttlMs: 0` turns it off). A revoked key keeps
   * working on this instance for at most `ttlMs` (see `ApiKeyCache`).
   */
  apiKeyCache?: Partial<ApiKeyCacheOptions>;
}

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The gateway, ready to `listen` or to `inject`. Closing it closes its queues; prisma and redis stay the caller's. */
export async function buildGatewayApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions("gateway", config.LOG_LEVEL) }),
    genReqId: genRequestId,
    // A request's child logger is made only if the request logs something at an enabled level (see lazyChildLogger).
    childLoggerFactory: (logger, bindings, options) =>
      lazyChildLogger(logger as unknown as Logger, bindings, options as Record<string, unknown>) as unknown as typeof logger,
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // A JSON API: any other body is answered 415 rather than handed to validation as a string.
  app.removeContentTypeParser("text/plain");

  const registry = createMetricsRegistry("gateway");
  instrumentHttp(app as unknown as Parameters<typeof instrumentHttp>[0], registry);

  const onQueueError = (error: Error) => app.log.error({ err: error }, "queue error");
  const queues = createGatewayQueues(deps.redis, config.REDIS_KEY_PREFIX, onQueueError);
  for (const emitter of queueEmitters(queues)) emitter.on("error", onQueueError);
  app.addHook("onClose", async () => queues.close());
  instrumentQueues(registry, queues.all);

  const composio =
    deps.composio ??
    withRateBudget(
      createComposioClient({ apiKey: config.COMPOSIO_API_KEY, baseUrl: config.COMPOSIO_BASE_URL, timeoutMs: config.COMPOSIO_TIMEOUT_MS }),
      new RateBudget(deps.redis, composioBudgetKey(config.REDIS_KEY_PREFIX), config.COMPOSIO_REQUESTS_PER_MINUTE),
    );
  const catalogue = new CatalogueCache(deps.redis, {
    prefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.TOOLKIT_CACHE_TTL_SECONDS,
    staleSeconds: config.TOOLKIT_CACHE_STALE_SECONDS,
    lockMs: config.COMPOSIO_TIMEOUT_MS + 1_000,
  });
  const policies = new ToolPolicyCache(deps.prisma, deps.redis, { prefix: config.REDIS_KEY_PREFIX });
  await policies.start();
  app.addHook("onClose", async () => policies.close());
  const ctx: GatewayContext = { config, prisma: deps.prisma, redis: deps.redis, queues, composio, catalogue, policies };

  // First: it adds its check to each route declaring `config.auth` as the route is declared (`onRoute`), which
  // reaches only routes and plugin scopes that come after it.
  await app.register(authPlugin, {
    prisma: deps.prisma,
    adminToken: config.ADMIN_TOKEN,
    sessionSecret: config.SESSION_SECRET,
    apiKeyCache: new ApiKeyCache({ ...API_KEY_CACHE_DEFAULTS, ...deps.apiKeyCache }),
  });
  await app.register(requestIdPlugin);
  await app.register(errorsPlugin);
  await app.register(securityPlugin, { corsOrigins: config.CORS_ORIGINS });
  await app.register(swaggerPlugin, { publicUrl: config.PUBLIC_GATEWAY_URL });

  await app.register(healthRoutes, { ctx });
  await app.register(adminRoutes, { ctx });
  await app.register(sessionRoutes, { ctx });
  await app.register(connectionRoutes, { ctx });
  await app.register(callbackRoutes, { ctx });
  await app.register(connectionOpRoutes, { ctx });
  await app.register(bulkRoutes, { ctx });
  await app.register(authConfigRoutes, { ctx });
  await app.register(catalogueRoutes, { ctx });
  await app.register(executionRoutes, { ctx });
  await app.register(policyRoutes, { ctx });
  await app.register(toolRoutes, { ctx });
  await app.register(triggerRoutes, { ctx });
  await app.register(metricsRoutes, { registry });
  await app.register(queueDashboardPlugin, { queues: queues.all, adminToken: config.ADMIN_TOKEN });

  await app.ready();
  return app as unknown as FastifyInstance;
}
