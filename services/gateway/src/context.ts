import type { PrismaClient, Sql } from "@kronos/db";
import type { ComposioPort, Config, EventBus, Principal, Redis, Scope, TypedQueue } from "@kronos/shared";
import type { FlowProducer, Queue } from "bullmq";
import type { CatalogueCache } from "./lib/catalogue-cache.js";
import type { ExecutionWaits } from "./lib/execution-waits.js";
import type { QueueEventsOnDemand } from "./lib/queue-events-on-demand.js";
import type { TenantRateLimitsCache } from "./lib/tenant-rate-limits.js";
import type { ToolPolicyCache } from "./lib/tool-policies.js";

/** Everything a use case may need: built once per app, handed to route plugins as options. */
export interface GatewayContext {
  config: Config;
  prisma: PrismaClient;
  /** The hot statements (the accept record), straight on the pg pool: Prisma's pipeline costs more than they do. */
  sql: Sql;
  redis: Redis;
  queues: GatewayQueues;
  /** How a request with `?wait=` hears that its execution is final. */
  executionWaits: ExecutionWaits;
  /** The catalogue (toolkits, actions) is the one thing the gateway reads from Composio itself. */
  composio: ComposioPort;
  catalogue: CatalogueCache;
  /** Tenants' rate-limit overrides (the admin route updates this instance's copy at once). */
  tenantLimits: TenantRateLimitsCache;
  /** Tool policies, cached in this process and invalidated across gateways by message. */
  policies: ToolPolicyCache;
  /** For the lifecycle events the gateway causes (parking, approvals, cancellations). */
  bus: EventBus;
}

export interface GatewayQueues {
  connection: TypedQueue<"connection">;
  statusPoll: TypedQueue<"statusPoll">;
  connectionOps: TypedQueue<"connectionOps">;
  authConfig: TypedQueue<"authConfig">;
  toolExecution: TypedQueue<"toolExecution">;
  bulk: TypedQueue<"bulk">;
  triggerOps: TypedQueue<"triggerOps">;
  /** Outbound webhook attempts (retries and replays asked through the API). */
  webhookDelivery: TypedQueue<"webhookDelivery">;
  /** Every queue of QUEUES (the dashboard and the metrics show them all). */
  all: Queue[];
  /** Job events, read only while a request waits for a job of that queue. */
  connectionEvents: QueueEventsOnDemand;
  connectionOpsEvents: QueueEventsOnDemand;
  authConfigEvents: QueueEventsOnDemand;
  bulkEvents: QueueEventsOnDemand;
  triggerOpsEvents: QueueEventsOnDemand;
  /** A status check the verification of a sign-in waits for. */
  statusPollEvents: QueueEventsOnDemand;
  /** Adds bulk requests: a parent job whose children are the items. */
  flows: FlowProducer;
}

/** The operator, who holds ADMIN_TOKEN. */
export interface AdminPrincipal {
  kind: "admin";
}
/**
 * An agent session's bearer (`/mcp` only): one user of one tenant, within the session's narrowing. Routes turn it
 * into a user principal (`agentPrincipal`) for the use cases.
 */
export interface AgentSessionPrincipal {
  kind: "agent_session";
  tenantId: string;
  userId: string;
  sessionId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Null: no narrowing of that kind. */
  toolkits: string[] | null;
  tools: string[] | null;
}
export type GatewayPrincipal = Principal | AdminPrincipal | AgentSessionPrincipal;
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
    /** The scope an API key needs (required on every route that accepts API keys; user tokens are not scoped). */
    scope?: Scope;
  }
}
