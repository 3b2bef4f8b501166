import type { PrismaClient } from "@kronos/db";
import { type Config, type Logger, loggerOptions, type Redis } from "@kronos/shared";
import Fastify, { type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { GatewayContext } from "./context.js";
import { authPlugin } from "./plugins/auth.js";
import { errorsPlugin } from "./plugins/errors.js";
import { genRequestId, requestIdPlugin } from "./plugins/request-id.js";
import { securityPlugin } from "./plugins/security.js";
import { swaggerPlugin } from "./plugins/swagger.js";
import { createGatewayQueues } from "./queues.js";
import { adminRoutes } from "./routes/admin.js";
import { callbackRoutes } from "./routes/callback.js";
import { connectionRoutes } from "./routes/connections.js";
import { healthRoutes } from "./routes/health.js";
import { sessionRoutes } from "./routes/sessions.js";

export interface GatewayDeps {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  /** A pino logger; by default one is made from LOG_LEVEL. */
  logger?: Logger;
}

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The gateway, ready to `listen` or to `inject`. Closing it closes its queues; prisma and redis stay the caller's. */
export async function buildGatewayApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions("gateway", config.LOG_LEVEL) }),
    genReqId: genRequestId,
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // A JSON API: any other body is answered 415 rather than handed to validation as a string.
  app.removeContentTypeParser("text/plain");

  const queues = createGatewayQueues(deps.redis, config.REDIS_KEY_PREFIX);
  const onQueueError = (error: Error) => app.log.error({ err: error }, "queue error");
  queues.connection.on("error", onQueueError);
  queues.statusPoll.on("error", onQueueError);
  queues.connectionEvents.on("error", onQueueError);
  app.addHook("onClose", async () => queues.close());
  const ctx: GatewayContext = { config, prisma: deps.prisma, redis: deps.redis, queues };

  await app.register(requestIdPlugin);
  await app.register(errorsPlugin);
  await app.register(securityPlugin, { corsOrigins: config.CORS_ORIGINS });
  await app.register(swaggerPlugin, { publicUrl: config.PUBLIC_GATEWAY_URL });
  await app.register(authPlugin, { prisma: deps.prisma, adminToken: config.ADMIN_TOKEN, sessionSecret: config.SESSION_SECRET });

  await app.register(healthRoutes, { ctx });
  await app.register(adminRoutes, { ctx });
  await app.register(sessionRoutes, { ctx });
  await app.register(connectionRoutes, { ctx });
  await app.register(callbackRoutes, { ctx });

  await app.ready();
  return app as unknown as FastifyInstance;
}
