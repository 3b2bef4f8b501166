import { type PrismaClient, prismaSql, type Sql } from "@kronos/db";
import { createServiceApp, opsRoutes } from "@kronos/service-kit";
import {
  blockingOptionsOf,
  type ComposioPort,
  type Config,
  composioBudgetKey,
  createComposioClient,
  createMetricsRegistry,
  EventBus,
  instrumentHttp,
  instrumentQueues,
  type Logger,
  onAgentSessionRevoked,
  onApiKeyRevoked,
  publicFeedUrl,
  RateBudget,
  type Redis,
  UnknownKeyGuard,
  withRateBudget,
} from "@kronos/shared";
import type { FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { GatewayContext } from "./context.js";
import { apiKeyUsageRecorder } from "./lib/api-key-usage.js";
import { CatalogueCache } from "./lib/catalogue-cache.js";
import { ExecutionWaits } from "./lib/execution-waits.js";
import { type ParkedSweepOptions, startParkedSweeper } from "./lib/parked-sweeper.js";
import { startRetentionSweeps } from "./lib/retention.js";
import { TenantRateLimitsCache } from "./lib/tenant-rate-limits.js";
import { ToolPolicyCache } from "./lib/tool-policies.js";
import { OpenCalls } from "./mcp/open-calls.js";
import { API_KEY_CACHE_DEFAULTS, ApiKeyCache, type ApiKeyCacheOptions, authPlugin } from "./plugins/auth.js";
import { consoleDistDir, consolePlugin } from "./plugins/console.js";
import { inputHygienePlugin } from "./plugins/input-hygiene.js";
import { queueDashboardPlugin } from "./plugins/queue-dashboard.js";
import { rateLimitPlugin } from "./plugins/rate-limits.js";
import { securityPlugin } from "./plugins/security.js";
import { swaggerPlugin } from "./plugins/swagger.js";
import { createGatewayQueues, queueEmitters } from "./queues.js";
import { adminRoutes } from "./routes/admin.js";
import { agentSessionRoutes } from "./routes/agent-sessions.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { auditLogRoutes } from "./routes/audit-logs.js";
import { authConfigRoutes } from "./routes/auth-configs.js";
import { bulkRoutes } from "./routes/bulk.js";
import { callbackRoutes } from "./routes/callback.js";
import { catalogueRoutes } from "./routes/catalogue.js";
import { connectionOpRoutes } from "./routes/connection-ops.js";
import { connectionRoutes } from "./routes/connections.js";
import { executionRoutes } from "./routes/executions.js";
import { healthRouteOptions, healthRoutes, metricsRouteOptions } from "./routes/health.js";
import { mcpRoutes } from "./routes/mcp.js";
import { policyRoutes } from "./routes/policies.js";
import { sessionRoutes } from "./routes/sessions.js";
import { signInVerificationRoutes } from "./routes/sign-in-verification.js";
import { tenantSettingsRoutes } from "./routes/tenant-settings.js";
import { toolRoutes } from "./routes/tools.js";
import { triggerRoutes } from "./routes/triggers.js";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints.js";

export interface GatewayDeps {
  config: Config;
  prisma: PrismaClient;
  /** The hot statements' runner (the pg pool under `prisma`, see createDatabase); by default through `prisma`. */
  sql?: Sql;
  redis: Redis;
  /** A pino logger; by default one is made from LOG_LEVEL and LOG_FORMAT. */
  logger?: Logger;
  /** The Composio port for the catalogue; by default the client over COMPOSIO_BASE_URL, within the shared rate budget. */
  composio?: ComposioPort;
  /**
   * The in-process cache of API keys (30 s, 10,000 keys by default; `ttlMs: 0` turns it off). A revoked key keeps
   * working on this instance for at most `ttlMs` (see `ApiKeyCache`).
   */
  apiKeyCache?: Partial<ApiKeyCacheOptions>;
  /** The built console's files (default: packages/console/dist). */
  consoleDir?: string;
  /** How often parked executions past their time are ended EXPIRED and missed wake-ups made (every 10 s, every tenant). */
  parkedSweep?: ParkedSweepOptions;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

/** The gateway, ready to `listen` or to `inject`. Closing it closes its queues; prisma and redis stay the caller's. */
export async function buildGatewayApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const service = createServiceApp({
    service: "gateway",
    config,
    ...(deps.logger ? { logger: deps.logger } : {}),
    bodyLimit: BODY_LIMIT_BYTES,
  });
  const app = service.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

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
  const bus = new EventBus(deps.redis, config.REDIS_KEY_PREFIX, config.EVENT_RETENTION_COUNT);
  const tenantLimits = new TenantRateLimitsCache(deps.prisma, config);
  const executionWaits = new ExecutionWaits(deps.redis, config.REDIS_KEY_PREFIX);
  app.addHook("onClose", async () => executionWaits.close());
  const ctx: GatewayContext = {
    config,
    prisma: deps.prisma,
    sql: deps.sql ?? prismaSql(deps.prisma),
    redis: deps.redis,
    queues,
    executionWaits,
    composio,
    catalogue,
    policies,
    bus,
    tenantLimits,
  };
  const stopSweeper = startParkedSweeper(ctx, deps.parkedSweep ?? { intervalMs: 10_000 }, (error) =>
    app.log.error({ err: error }, "parked sweep failed"),
  );
  app.addHook("onClose", async () => stopSweeper());
  // Counters of the rate limits: a connection that fails at once while Redis is away (no offline queue), so a limit
  // is skipped then rather than waited on.
  const limitsRedis = deps.redis.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  limitsRedis.on("error", (error) => app.log.warn({ err: error }, "rate-limit Redis connection error"));
  app.addHook("onClose", async () => {
    await limitsRedis.quit().catch(() => limitsRedis.disconnect());
  });

  // First: it adds its check to each route declaring `config.auth` as the route is declared (`onRoute`), which
  // reaches only routes and plugin scopes that come after it.
  const apiKeyCache = new ApiKeyCache({ ...API_KEY_CACHE_DEFAULTS, ...deps.apiKeyCache });
  // Revocations published by any instance evict the key here at once (see api-key-revocations in packages/shared).
  // With an offline queue and no command timeout, whatever the request path's connection has (a subscriber waits).
  const subscriber = deps.redis.duplicate(blockingOptionsOf(deps.redis));
  subscriber.on("error", (error) => app.log.warn({ err: error }, "revocation subscriber error"));
  const unsubscribe = await onApiKeyRevoked(subscriber, config.REDIS_KEY_PREFIX, ({ keyHash }) => apiKeyCache.forget(keyHash));
  // The MCP calls this instance holds open: a revoked agent session's end at once (its next requests are refused by
  // their Postgres lookup on any instance), and all of them answer what they have when the gateway stops.
  const openCalls = new OpenCalls();
  const unsubscribeSessions = await onAgentSessionRevoked(subscriber, config.REDIS_KEY_PREFIX, ({ sessionId }) =>
    openCalls.abortSession(sessionId),
  );
  app.addHook("preClose", async () => openCalls.abortAll());
  app.addHook("onClose", async () => {
    await unsubscribeSessions();
    await unsubscribe();
    await subscriber.quit().catch(() => subscriber.disconnect());
  });
  await app.register(authPlugin, {
    prisma: deps.prisma,
    adminToken: config.ADMIN_TOKEN,
    sessionSecret: config.SESSION_SECRET,
    apiKeyCache,
    unknownKeys: new UnknownKeyGuard(limitsRedis, config.REDIS_KEY_PREFIX, config.RATE_LIMIT_UNKNOWN_KEYS_PER_MINUTE),
    touchApiKey: apiKeyUsageRecorder(deps.prisma, app.log),
  });
  // After the auth plugin: its limit hook then runs after each route's auth check, with the principal known.
  await app.register(rateLimitPlugin, {
    redis: limitsRedis,
    prefix: config.REDIS_KEY_PREFIX,
    ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
    tenantLimits,
  });
  await app.register(inputHygienePlugin);
  await app.register(securityPlugin, { corsOrigins: config.CORS_ORIGINS });
  await app.register(swaggerPlugin, { publicUrl: config.PUBLIC_GATEWAY_URL });

  await app.register(opsRoutes, {
    service: "gateway",
    registry,
    adminToken: config.ADMIN_TOKEN,
    healthRoute: healthRouteOptions,
    metricsRoute: metricsRouteOptions,
  });
  await app.register(healthRoutes, { ctx });
  await app.register(adminRoutes, { ctx });
  await app.register(tenantSettingsRoutes, { ctx });
  await app.register(apiKeyRoutes, { ctx });
  await app.register(auditLogRoutes, { ctx });
  await app.register(sessionRoutes, { ctx });
  await app.register(connectionRoutes, { ctx });
  await app.register(callbackRoutes, { ctx });
  await app.register(signInVerificationRoutes, { ctx });
  await app.register(connectionOpRoutes, { ctx });
  await app.register(bulkRoutes, { ctx });
  await app.register(authConfigRoutes, { ctx });
  await app.register(catalogueRoutes, { ctx });
  await app.register(executionRoutes, { ctx });
  await app.register(policyRoutes, { ctx });
  await app.register(toolRoutes, { ctx });
  await app.register(agentSessionRoutes, { ctx });
  await app.register(mcpRoutes, { ctx, openCalls });
  await app.register(triggerRoutes, { ctx });
  await app.register(webhookEndpointRoutes, { ctx });
  await app.register(queueDashboardPlugin, { queues: queues.all, adminToken: config.ADMIN_TOKEN });
  await app.register(consolePlugin, { distDir: deps.consoleDir ?? consoleDistDir(), feedUrl: publicFeedUrl(config) });

  const stopRetention = startRetentionSweeps({
    prisma: deps.prisma,
    redis: deps.redis,
    prefix: config.REDIS_KEY_PREFIX,
    retentionDays: config.AUDIT_RETENTION_DAYS,
    log: app.log,
  });
  app.addHook("onClose", async () => stopRetention());

  await app.ready();
  return app as unknown as FastifyInstance;
}
