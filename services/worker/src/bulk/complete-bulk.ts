import type { PrismaClient } from "@kronos/db";
import {
  type BulkCompletedEventData,
  type CompleteBulkJob,
  connectionStatusSchema,
  decodeJobFailure,
  EVENT_TYPES,
  type EventBus,
  type Logger,
} from "@kronos/shared";
import { describeError, Refusal } from "../jobs/failure-policy.js";

export interface CompleteBulkDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  now?: () => Date;
}

/** What the parent job reads of its children: BullMQ's maps keyed `<prefix>:<queue>:<jobId>`. */
export interface ChildOutcomes {
  values: Record<string, unknown>;
  failures: Record<string, string>;
}

type BulkItemResult = BulkCompletedEventData["results"][number];

/** Finds a child's entry by its queue and job id (the key's prefix is the queue prefix, whatever it is). */
function entryOf<T>(map: Record<string, T>, queue: string, jobId: string): { found: true; value: T } | { found: false } {
  const suffix = `:${queue}:${jobId}`;
  for (const [key, value] of Object.entries(map)) if (key.endsWith(suffix)) return { found: true, value };
  return { found: false };
}

/** The per-item results, in request order, from what the children returned or why they failed. */
export function bulkResults(
  items: CompleteBulkJob["items"],
  children: ChildOutcomes,
  rejected: CompleteBulkJob["rejected"] = [],
): BulkItemResult[] {
  return items.map((item, index): BulkItemResult => {
    const refused = rejected.find((r) => r.index === index);
    if (refused) {
      return { index, ok: false, connection_id: item.connectionId, status: null, error: { code: refused.code, message: refused.message } };
    }
    const value = entryOf(children.values, item.queue, item.jobId);
    if (value.found) {
      const returned = (value.value && typeof value.value === "object" ? value.value : {}) as { connection_id?: unknown; status?: unknown };
      return {
        index,
        ok: true,
        connection_id: typeof returned.connection_id === "string" ? returned.connection_id : item.connectionId,
        status: connectionStatusSchema
          .nullable()
          .catch(null)
          .parse(returned.status ?? null),
        error: null,
      };
    }
    const failure = entryOf(children.failures, item.queue, item.jobId);
    return {
      index,
      ok: false,
      connection_id: item.connectionId,
      status: null,
      error: failure.found ? decodeJobFailure(failure.value) : { code: "INTERNAL", message: "The item's outcome is unknown" },
    };
  });
}

/**
 * The parent of a bulk request, run by BullMQ once every child has finished (children are added with
 * ignoreDependencyOnFailure, so a failed item does not block it): records the per-item results on the
 * BulkOperation row and publishes `bulk.completed` once (a second run finds the row completed and publishes nothing).
 */
export async function completeBulk(deps: CompleteBulkDeps, job: CompleteBulkJob, children: ChildOutcomes): Promise<BulkCompletedEventData> {
  const results = bulkResults(job.items, children, job.rejected);
  const succeeded = results.filter((r) => r.ok).length;
  const data: BulkCompletedEventData = { bulk_id: job.bulkId, kind: job.kind, succeeded, failed: results.length - succeeded, results };
  const completedAt = deps.now?.() ?? new Date();

  const existing = await deps.prisma.bulkOperation.findUnique({ where: { id: job.bulkId } });
  if (existing && existing.tenantId !== job.tenantId) {
    throw new Refusal({ code: "CONFLICT", message: "The bulk id is already in use" }, { endRecord: false });
  }
  let recorded: number;
  if (existing) {
    ({ count: recorded } = await deps.prisma.bulkOperation.updateMany({
      where: { id: job.bulkId, tenantId: job.tenantId, completedAt: null },
      data: { results, completedAt },
    }));
  } else {
    ({ count: recorded } = await deps.prisma.bulkOperation.createMany({
      data: [
        { id: job.bulkId, tenantId: job.tenantId, userId: job.userId, kind: job.kind, itemCount: job.items.length, results, completedAt },
      ],
      skipDuplicates: true,
    }));
  }
  if (recorded === 0) {
    deps.logger.info({ bulkId: job.bulkId }, "bulk operation already completed");
    return data;
  }
  deps.logger.info({ bulkId: job.bulkId, succeeded: data.succeeded, failed: data.failed }, "bulk operation completed");
  try {
    await deps.bus.publish({ type: EVENT_TYPES.bulkCompleted, tenantId: job.tenantId, userId: job.userId, data });
  } catch (error) {
    deps.logger.error({ err: describeError(error) }, "could not publish the bulk.completed event");
  }
  return data;
}
