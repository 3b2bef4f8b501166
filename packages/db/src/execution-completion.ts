import { BatchQueue, EVENT_TYPES, type EventBus, type ExecutionCompletedEventData, FINAL_EXECUTION_STATUSES } from "@kronos/shared";
import type { Execution, PrismaClient } from "./generated/prisma/client.js";
import { prismaSql, type Sql } from "./sql.js";

// Events follow the state: execution.completed is published after a final status is written, and the row says when
// it was (completion_published_at). A writer that dies, or loses Postgres's answer, between the two leaves a final row
// without it: whoever finds such a row later publishes the event (at least once; a claim keeps it to once between
// finders).

interface CompletionDeps {
  prisma: PrismaClient;
  bus: Pick<EventBus, "publish">;
}

/** The execution.completed event of a final row. */
export function completedEventOf(row: Execution): ExecutionCompletedEventData {
  return {
    execution_id: row.id,
    user_id: row.userId,
    tool: row.toolSlug,
    status: row.status as ExecutionCompletedEventData["status"],
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? "" } : null,
    duration_ms: row.durationMs,
    log_id: row.logId,
  };
}

/** Notes of one database handle, written together: one UPDATE per 50 ms at most, off the path of the job that published. */
const notes = new WeakMap<object, BatchQueue<string, void>>();

// Every execution's path notes its event (in batches): one prepared statement on the pool, not Prisma's pipeline (a
// transaction of three round trips, and its query compiler: 7% of the worker's CPU in P7). UTC, as Prisma writes it.
const NOTE_PUBLISHED = `
  UPDATE executions SET completion_published_at = timezone('UTC', now())
  WHERE id = ANY($1::uuid[]) AND completion_published_at IS NULL`;

/**
 * Notes that execution.completed of a final execution was published. Callers need not wait: until the note is
 * written, a finder would publish the event again (at least once), which only a crash in these milliseconds allows.
 * `db`: the hot statements' runner (the pg pool), or a Prisma client.
 */
export function markCompletionPublished(db: Sql | PrismaClient, executionId: string): Promise<void> {
  let queue = notes.get(db);
  if (!queue) {
    const sql = "rows" in db && "count" in db ? (db as Sql) : prismaSql(db as PrismaClient);
    queue = new BatchQueue<string, void>(
      async (ids) => {
        await sql.count({ name: "execution-note-published", text: NOTE_PUBLISHED, values: [ids] });
        return ids.map(() => ({ ok: true as const, value: undefined }));
      },
      500,
      1,
      50,
    );
    notes.set(db, queue);
  }
  return queue.push(executionId);
}

/**
 * How long after a final status a finder (the sweeper) waits before it takes the event for missed: its writer
 * publishes it, and notes it, within milliseconds, unless it died or lost Postgres meanwhile.
 */
export const MISSED_COMPLETION_AFTER_MS = 30_000;

/**
 * Publishes execution.completed of the executions among `ids` that are final, ended before `endedBefore`, and whose
 * event was never published. Each is claimed first (a conditional UPDATE), so that two finders publish it once; a
 * claim whose publish fails is given back. Answers the ids published, those whose publish failed, and those still
 * waiting for their event (final, unpublished, ended since `endedBefore`: their writer may be publishing it).
 */
export async function publishMissedCompletions(
  deps: CompletionDeps,
  ids: string[],
  endedBefore: Date,
): Promise<{ published: string[]; failed: string[]; waiting: string[] }> {
  const published: string[] = [];
  const failed: string[] = [];
  if (ids.length === 0) return { published, failed, waiting: [] };
  const unpublished = await deps.prisma.execution.findMany({
    where: { id: { in: ids }, status: { in: [...FINAL_EXECUTION_STATUSES] }, completionPublishedAt: null },
  });
  const missed = unpublished.filter((row) => row.completedAt !== null && row.completedAt < endedBefore);
  const waiting = unpublished.filter((row) => !missed.includes(row)).map((row) => row.id);
  for (const row of missed) {
    const outcome = await claimAndPublish(deps, row, { completionPublishedAt: null });
    if (outcome === "published") published.push(row.id);
    else if (outcome === "failed") failed.push(row.id);
  }
  return { published, failed, waiting };
}

/**
 * Publishes execution.completed of a final status this writer wrote at `writtenAt` and whose write's answer it lost
 * (the write committed; the writer's retry found the row final): nobody else knows to publish it. A row final by
 * another writer's hand (another `completedAt`) is left to that writer.
 */
export async function publishOwnCompletion(deps: CompletionDeps, executionId: string, writtenAt: Date): Promise<boolean> {
  const row = await deps.prisma.execution.findFirst({
    where: { id: executionId, completedAt: writtenAt, completionPublishedAt: null, status: { in: [...FINAL_EXECUTION_STATUSES] } },
  });
  if (!row) return false;
  const outcome = await claimAndPublish(deps, row, { completionPublishedAt: null, completedAt: writtenAt });
  if (outcome === "failed") throw new Error("could not publish the execution.completed event");
  return outcome === "published";
}

async function claimAndPublish(
  deps: CompletionDeps,
  row: Execution,
  condition: { completionPublishedAt: null; completedAt?: Date },
): Promise<"published" | "failed" | "taken"> {
  const claimed = await deps.prisma.execution.updateMany({
    where: { id: row.id, ...condition },
    data: { completionPublishedAt: new Date() },
  });
  if (claimed.count === 0) return "taken"; // another finder has it
  try {
    await deps.bus.publish({
      type: EVENT_TYPES.executionCompleted,
      tenantId: row.tenantId,
      userId: row.userId,
      data: completedEventOf(row),
    });
    return "published";
  } catch {
    await deps.prisma.execution.updateMany({ where: { id: row.id }, data: { completionPublishedAt: null } }).catch(() => undefined);
    return "failed";
  }
}
