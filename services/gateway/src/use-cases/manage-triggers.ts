import { randomUUID } from "node:crypto";
import type { Prisma, Trigger } from "@kronos/db";
import {
  AppError,
  actorOf,
  type CreateTriggerBody,
  JOBS,
  notFound,
  type Principal,
  type TriggerOp,
  type TriggerOpJob,
  type TriggerStatus,
  type TriggerView,
  triggerOpResultSchema,
  type UpdateTriggerBody,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { acceptAndWait, findAcceptedJob } from "../lib/accepted-jobs.js";
import { afterCursor, NEWEST_FIRST, pageOfRows } from "../lib/cursor.js";
import { scopedUserId } from "../lib/principal.js";
import { checkTriggerConfig } from "../lib/trigger-config.js";
import { toTriggerView, triggerPath } from "../lib/trigger-view.js";
import { getTriggerType } from "./read-catalogue.js";

export type TriggerOutcome =
  | { kind: "done"; body: TriggerView }
  | { kind: "deleted" }
  | { kind: "accepted"; body: { trigger_id: string; op: TriggerOp; status: "PENDING"; poll_url: string } };

/** The caller's trigger (a user principal's own only); anyone else's does not exist. */
async function ownTrigger(ctx: GatewayContext, principal: Principal, triggerId: string): Promise<Trigger> {
  const userId = scopedUserId(principal, undefined);
  const row = await ctx.prisma.trigger.findFirst({
    where: { id: triggerId, tenantId: principal.tenantId, ...(userId === undefined ? {} : { userId }) },
  });
  if (!row) throw notFound("Trigger");
  return row;
}

/** The type's config schema, from the catalogue cache: an unknown slug is 404 before anything else happens. */
async function configSchemaOf(ctx: GatewayContext, slug: string) {
  const { body } = await getTriggerType(ctx, slug);
  return body;
}

/**
 * Runs a trigger-ops job and waits up to CONNECT_WAIT_MS for it: the row read back, or 202 with where to poll. The job
 * is recorded in Postgres (accepted_jobs) before it is added: a Redis that loses it cannot lose the operation.
 */
async function runOp(ctx: GatewayContext, data: TriggerOpJob, jobId: string): Promise<TriggerOutcome> {
  const { triggerOps: queue, triggerOpsEvents: events } = ctx.queues;
  const opts = { jobId, attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS };
  const record = { queue: queue.name, name: JOBS.triggerOp, jobId, tenantId: data.tenantId, data, opts };
  const outcome = await acceptAndWait(ctx, record, { queue, events }, ctx.config.CONNECT_WAIT_MS, () =>
    queue.add(JOBS.triggerOp, data, opts),
  );
  if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  if (outcome.state === "pending") {
    return {
      kind: "accepted",
      body: { trigger_id: data.triggerId, op: data.op, status: "PENDING", poll_url: triggerPath(data.triggerId) },
    };
  }
  if (!triggerOpResultSchema.safeParse(outcome.value).success)
    throw new AppError("UPSTREAM_ERROR", "The trigger job returned an unexpected result");
  if (data.op === "delete") return { kind: "deleted" };
  const row = await ctx.prisma.trigger.findFirst({ where: { id: data.triggerId, tenantId: data.tenantId } });
  if (!row) throw notFound("Trigger");
  return { kind: "done", body: toTriggerView(row) };
}

/**
 * POST /triggers: the type must exist and the config match its schema, and the connection (the given one, else the
 * user's newest ACTIVE connection of the type's toolkit) must be the user's, of that toolkit, and ACTIVE; all of it
 * before anything is written or queued. Then the PENDING row, then the job that creates it at Composio.
 */
export async function createTrigger(ctx: GatewayContext, principal: Principal, body: CreateTriggerBody): Promise<TriggerOutcome> {
  const userId = scopedUserId(principal, body.user_id) ?? body.user_id;
  const type = await configSchemaOf(ctx, body.trigger_slug);
  checkTriggerConfig(type.config, body.config);

  const where = { tenantId: principal.tenantId, userId };
  const connection = body.connection_id
    ? await ctx.prisma.connection.findFirst({ where: { ...where, id: body.connection_id } })
    : await ctx.prisma.connection.findFirst({
        where: { ...where, toolkitSlug: type.toolkit, status: "ACTIVE" },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      });
  if (!connection) {
    if (body.connection_id) throw notFound("Connection");
    throw new AppError("CONFLICT", `User "${userId}" has no ACTIVE ${type.toolkit} connection: connect one first`);
  }
  if (connection.toolkitSlug !== type.toolkit) {
    throw new AppError("VALIDATION_FAILED", `${type.slug} is a ${type.toolkit} trigger; the connection is ${connection.toolkitSlug}`, [
      { field: "body.connection_id", message: `must be a ${type.toolkit} connection` },
    ]);
  }
  if (connection.status !== "ACTIVE") throw new AppError("CONFLICT", `The connection is ${connection.status}, not ACTIVE`);
  // Composio keeps one instance per connected account and trigger type: a second one would overwrite the first.
  const twin = await ctx.prisma.trigger.findFirst({
    where: { connectionId: connection.id, triggerSlug: type.slug, status: { not: "FAILED" } },
    select: { id: true },
  });
  if (twin) throw new AppError("CONFLICT", `This connection already has a ${type.slug} trigger (${twin.id}): update that one`);

  const triggerId = randomUUID();
  const data: TriggerOpJob = { tenantId: principal.tenantId, triggerId, op: "create", actor: actorOf(principal) };
  // The PENDING row first: the job (and a re-drive of it by the sweeper) creates what the row says.
  await ctx.prisma.trigger.create({
    data: {
      id: triggerId,
      tenantId: principal.tenantId,
      userId,
      connectionId: connection.id,
      toolkitSlug: type.toolkit,
      triggerSlug: type.slug,
      config: body.config as Prisma.InputJsonObject,
      labels: body.labels,
    },
  });
  return runOp(ctx, data, triggerId).catch(async (error: unknown) => {
    // Not accepted (its record could not be written, or the job was refused): nothing half-written stays behind.
    // An accepted job owns its row, whatever happens next.
    if (!(await findAcceptedJob(ctx, ctx.queues.triggerOps.name, triggerId).catch(() => null))) {
      await ctx.prisma.trigger.deleteMany({ where: { id: triggerId, status: "PENDING" } }).catch(() => undefined);
    }
    throw error;
  });
}

/** enable, disable, update (config and/or labels) or delete one of the caller's triggers, through the worker. */
export async function changeTrigger(
  ctx: GatewayContext,
  principal: Principal,
  triggerId: string,
  op: Exclude<TriggerOp, "create">,
  update?: UpdateTriggerBody,
): Promise<TriggerOutcome> {
  const row = await ownTrigger(ctx, principal, triggerId);
  const base = { tenantId: principal.tenantId, triggerId, actor: actorOf(principal) };
  let data: TriggerOpJob = { ...base, op };
  if (op === "update") {
    if (update?.config !== undefined) checkTriggerConfig((await configSchemaOf(ctx, row.triggerSlug)).config, update.config);
    data = {
      ...base,
      op,
      ...(update?.config !== undefined ? { config: update.config } : {}),
      ...(update?.labels !== undefined ? { labels: update.labels } : {}),
    };
  }
  return runOp(ctx, data, randomUUID());
}

export async function getTrigger(ctx: GatewayContext, principal: Principal, triggerId: string): Promise<TriggerView> {
  return toTriggerView(await ownTrigger(ctx, principal, triggerId));
}

export interface ListTriggersQuery {
  user_id?: string | undefined;
  toolkit?: string | undefined;
  status?: TriggerStatus | undefined;
  label?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A tenant's triggers (a user principal's own only), newest first, a page at a time. */
export async function listTriggers(ctx: GatewayContext, principal: Principal, query: ListTriggersQuery) {
  const userId = scopedUserId(principal, query.user_id);
  const filters: Prisma.TriggerWhereInput[] = [{ tenantId: principal.tenantId }];
  if (userId !== undefined) filters.push({ userId });
  if (query.toolkit) filters.push({ toolkitSlug: query.toolkit });
  if (query.status) filters.push({ status: query.status });
  if (query.label) filters.push({ labels: { has: query.label } });
  if (query.cursor) filters.push(afterCursor(query.cursor));
  const rows = await ctx.prisma.trigger.findMany({
    where: { AND: filters },
    orderBy: NEWEST_FIRST,
    take: query.limit + 1,
  });
  return pageOfRows(rows, query.limit, toTriggerView);
}
