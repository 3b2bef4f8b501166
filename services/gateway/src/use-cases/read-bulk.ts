import { AppError, type BulkView, bulkCompletedEventDataSchema, type CompleteBulkJob, notFound, type Principal } from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { currentOutcome } from "../lib/job-wait.js";

export const bulkPath = (bulkId: string) => `/api/v1/composio/bulk/${bulkId}`;

/** A finished bulk operation (its row), or RUNNING while its parent job has not written the row yet. */
export async function getBulk(ctx: GatewayContext, principal: Principal, bulkId: string): Promise<BulkView> {
  const userScope = principal.kind === "user" ? { userId: principal.userId } : {};
  const row = await ctx.prisma.bulkOperation.findFirst({ where: { id: bulkId, tenantId: principal.tenantId, ...userScope } });
  if (row) {
    const results = bulkCompletedEventDataSchema.shape.results.safeParse(
      Array.isArray(row.results) ? row.results : (row.results as { results?: unknown } | null)?.results,
    );
    const items = results.success ? results.data : [];
    const succeeded = items.filter((item) => item.ok).length;
    return {
      bulk_id: row.id,
      status: row.completedAt || results.success ? "COMPLETED" : "RUNNING",
      kind: row.kind,
      item_count: row.itemCount,
      succeeded,
      failed: items.length - succeeded,
      results: items,
      created_at: row.createdAt.toISOString(),
      completed_at: row.completedAt?.toISOString() ?? null,
    };
  }
  const job = await ctx.queues.bulk.getJob(bulkId);
  const data = job?.data as CompleteBulkJob | undefined;
  if (!job || !data || data.tenantId !== principal.tenantId || (principal.kind === "user" && data.userId !== principal.userId))
    throw notFound("Bulk operation");
  const outcome = await currentOutcome(ctx.queues.bulk, bulkId);
  if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  return {
    bulk_id: bulkId,
    status: "RUNNING",
    kind: data.kind,
    item_count: data.items.length,
    created_at: new Date(job.timestamp).toISOString(),
  };
}
