import { randomUUID } from "node:crypto";
import {
  AppError,
  actorOf,
  authConfigRefusal,
  type BulkConnectionIdsBody,
  type BulkInitiateBody,
  type BulkResult,
  bulkCompletedEventDataSchema,
  type CompleteBulkJob,
  type ConnectionOpJob,
  DEFAULT_JOB_OPTIONS,
  type ErrorCode,
  type InitiateConnectionJob,
  isUuid,
  JOBS,
  type Principal,
  QUEUES,
} from "@kronos/shared";
import type { FlowChildJob, JobsOptions } from "bullmq";
import type { GatewayContext } from "../context.js";
import { acceptAndWait } from "../lib/accepted-jobs.js";
import { scopedUserId } from "../lib/principal.js";
import { bulkPath } from "./read-bulk.js";

export type BulkRequest = { kind: "connect"; body: BulkInitiateBody } | { kind: "disable" | "delete"; body: BulkConnectionIdsBody };

export type BulkOutcome =
  | { kind: "done"; body: BulkResult }
  | { kind: "accepted"; body: { bulk_id: string; status: "RUNNING"; poll_url: string } };

/** An item the gateway refused before enqueuing it: it fails alone, with this error, in the results. */
export interface RejectedItem {
  index: number;
  connectionId: string | null;
  code: ErrorCode;
  message: string;
}

/** The jobId of an item that has no job because the gateway refused it (see the parent's `rejected`). */
const rejectedItemJobId = (bulkId: string, index: number) => `rejected-${bulkId}-${index}`;

/**
 * A bulk request as one BullMQ flow: a parent job (its id is the bulk id) whose children are the items. A child's
 * failure never fails the parent (ignoreDependencyOnFailure), so every item reports its own outcome. Waits up to
 * CONNECT_WAIT_MS for the parent, else 202.
 */
export async function startBulk(ctx: GatewayContext, principal: Principal, request: BulkRequest): Promise<BulkOutcome> {
  const bulkId = randomUUID();
  const userId = request.kind === "connect" ? (scopedUserId(principal, request.body.user_id) ?? request.body.user_id) : null;
  const childOptions: JobsOptions = {
    ...DEFAULT_JOB_OPTIONS,
    backoff: { ...DEFAULT_JOB_OPTIONS.backoff },
    attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS,
    ignoreDependencyOnFailure: true,
  };
  const { children, items, rejected } =
    request.kind === "connect"
      ? await connectItems(ctx, principal, bulkId, userId as string, request.body, childOptions)
      : await opItems(ctx, principal, bulkId, request.kind, request.body, childOptions);

  const data: CompleteBulkJob = {
    bulkId,
    tenantId: principal.tenantId,
    userId: principal.kind === "user" ? principal.userId : userId,
    kind: request.kind,
    items,
    rejected: rejected.map(({ index, code, message }) => ({ index, code, message })),
  };
  const { bulk: queue, bulkEvents: events } = ctx.queues;
  const opts = { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff }, jobId: bulkId };
  // One durable record for the whole flow: the sweeper adds it again (parent and children, same ids) if Redis loses it.
  const record = { queue: QUEUES.bulk, name: JOBS.completeBulk, jobId: bulkId, tenantId: principal.tenantId, data, opts, children };
  const outcome = await acceptAndWait(ctx, record, { queue, events }, ctx.config.CONNECT_WAIT_MS, () =>
    ctx.queues.flows.add({ name: JOBS.completeBulk, queueName: QUEUES.bulk, data, opts, children }),
  );
  if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  if (outcome.state === "pending") return { kind: "accepted", body: { bulk_id: bulkId, status: "RUNNING", poll_url: bulkPath(bulkId) } };
  const result = bulkCompletedEventDataSchema.safeParse(outcome.value);
  if (!result.success) throw new AppError("UPSTREAM_ERROR", "The bulk job returned an unexpected result");
  return { kind: "done", body: result.data };
}

async function connectItems(
  ctx: GatewayContext,
  principal: Principal,
  bulkId: string,
  userId: string,
  body: BulkInitiateBody,
  opts: JobsOptions,
) {
  const configIds = [...new Set(body.items.flatMap((item) => (item.auth_config_id ? [item.auth_config_id] : [])))];
  const configs = new Map(
    (await ctx.prisma.authConfig.findMany({ where: { tenantId: principal.tenantId, id: { in: configIds } } })).map((c) => [c.id, c]),
  );
  const children: FlowChildJob[] = [];
  const items: CompleteBulkJob["items"] = [];
  const rejected: RejectedItem[] = [];
  body.items.forEach((item, index) => {
    const config = item.auth_config_id ? configs.get(item.auth_config_id) : undefined;
    const refusal = item.auth_config_id ? authConfigRefusal(config, item.auth_config_id, item.app_name) : null;
    if (refusal) {
      rejected.push({ index, connectionId: null, code: refusal.code, message: refusal.message });
      items.push({ queue: QUEUES.connection, jobId: rejectedItemJobId(bulkId, index), connectionId: null });
      return;
    }
    const connectionId = randomUUID();
    const data: InitiateConnectionJob = {
      connectionId,
      tenantId: principal.tenantId,
      userId,
      toolkit: item.app_name,
      labels: item.labels,
      actor: actorOf(principal),
      bulkId,
      ...(item.auth_config_id === undefined ? {} : { authConfigId: item.auth_config_id }),
      ...(item.redirect_url === undefined ? {} : { returnUrl: item.redirect_url }),
    };
    children.push({ name: JOBS.initiateConnection, queueName: QUEUES.connection, data, opts: { ...opts, jobId: connectionId } });
    items.push({ queue: QUEUES.connection, jobId: connectionId, connectionId });
  });
  return { children, items, rejected };
}

async function opItems(
  ctx: GatewayContext,
  principal: Principal,
  bulkId: string,
  op: "disable" | "delete",
  body: BulkConnectionIdsBody,
  opts: JobsOptions,
) {
  const userId = scopedUserId(principal, undefined);
  const candidates = [...new Set(body.connection_ids.filter((id) => isUuid(id)))];
  const own = new Set(
    (
      await ctx.prisma.connection.findMany({
        where: { id: { in: candidates }, tenantId: principal.tenantId, ...(userId === undefined ? {} : { userId }) },
        select: { id: true },
      })
    ).map((c) => c.id),
  );
  const children: FlowChildJob[] = [];
  const items: CompleteBulkJob["items"] = [];
  const rejected: RejectedItem[] = [];
  body.connection_ids.forEach((connectionId, index) => {
    if (!own.has(connectionId)) {
      rejected.push({ index, connectionId, code: "NOT_FOUND", message: "Connection not found" });
      items.push({ queue: QUEUES.connectionOps, jobId: rejectedItemJobId(bulkId, index), connectionId });
      return;
    }
    const jobId = `${bulkId}-${index}`;
    const data: ConnectionOpJob = { tenantId: principal.tenantId, connectionId, op, actor: actorOf(principal), bulkId };
    children.push({ name: JOBS.connectionOp, queueName: QUEUES.connectionOps, data, opts: { ...opts, jobId } });
    items.push({ queue: QUEUES.connectionOps, jobId, connectionId });
  });
  return { children, items, rejected };
}
