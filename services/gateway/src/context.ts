import type { PrismaClient } from "@kronos/db";
import type { Config, Principal, Redis } from "@kronos/shared";
import type { Queue, QueueEvents } from "bullmq";

/** Everything a use case may need: built once per app, handed to route plugins as options. */
export interface GatewayContext {
  config: Config;
  prisma: PrismaClient;
  redis: Redis;
  queues: GatewayQueues;
}

export interface GatewayQueues {
  connection: Queue;
  statusPoll: Queue;
  connectionEvents: QueueEvents;
}

/** The operator, who holds ADMIN_TOKEN. */
export interface AdminPrincipal {
  kind: "admin";
}
export type GatewayPrincipal = Principal | AdminPrincipal;
export type PrincipalKind = GatewayPrincipal["kind"];

/** Options of every route plugin. */
export interface RouteOptions {
  ctx: GatewayContext;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth plugin on routes that declare `config.auth`; null on public routes. */
    principal: GatewayPrincipal | null;
  }
  interface FastifyContextConfig {
    /** The principals a route accepts. Absent: the route is public. */
    auth?: readonly PrincipalKind[];
  }
}
