import { isUniqueViolation, Prisma, type PrismaClient } from "@kronos/db";
import { type ExecuteToolJob, encodeJobFailure } from "@kronos/shared";
import { UnrecoverableError } from "bullmq";

// The two statements of a tool execution's hot path, in SQL: one round trip each, and no ORM query to plan per job
// (at hundreds of executions per second, planning Prisma queries was a fifth of the worker's CPU).

/** The execution row as an attempt found it. */
export interface StartedAttempt {
  id: string;
  tenantId: string;
  status: string;
}

/** The connection the attempt looked up (whether or not it can be used). */
export interface FoundConnection {
  id: string;
  composioAccountId: string | null;
  status: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The toolkit of a tool: the slug's prefix before the first "_", lower-cased (GITHUB_CREATE_ISSUE -> github). */
export function toolkitOfTool(toolSlug: string): string {
  const at = toolSlug.indexOf("_");
  return (at > 0 ? toolSlug.slice(0, at) : toolSlug).toLowerCase();
}

/** Postgres refused a duplicate: P2002 from a Prisma query; from a raw one, P2010 with the driver's 23505 inside. */
function isDuplicate(error: unknown): boolean {
  if (isUniqueViolation(error)) return true;
  const e = error as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  if (typeof e !== "object" || e === null || e.code !== "P2010") return false;
  return e.meta?.code === "23505" || e.meta?.driverAdapterError?.cause?.originalCode === "23505";
}

const parsed = <T>(value: unknown): T | null =>
  value === null || value === undefined ? null : typeof value === "string" ? JSON.parse(value) : (value as T);

/**
 * In one statement: finds the connection the tool runs on (the given one, our id or Composio's, which must be the
 * user's; or the user's most recently updated ACTIVE connection of the tool's toolkit), and creates the execution row
 * (RUNNING, attempt 1) or marks a new attempt on it, with that connection when it can be used (ACTIVE, with a Composio
 * account). The row is left alone when it is final already or belongs to another tenant; it is then read back.
 */
export async function startAttempt(
  prisma: PrismaClient,
  job: ExecuteToolJob,
  now: Date,
): Promise<{ attempt: StartedAttempt; connection: FoundConnection | null }> {
  const given = job.connectedAccountId;
  const which = given
    ? UUID.test(given)
      ? Prisma.sql`id = ${given}::uuid`
      : Prisma.sql`composio_account_id = ${given}`
    : Prisma.sql`toolkit_slug = ${toolkitOfTool(job.toolSlug)} AND status = 'ACTIVE' AND composio_account_id IS NOT NULL`;
  // Timestamps are stored as UTC in `timestamp(3)` columns (as Prisma does): ISO strings read as timestamptz, in UTC.
  const startedAt = now.toISOString();
  const createdAt = new Date().toISOString();
  let row: { attempt: unknown; connection: unknown } | undefined;
  try {
    const rows = await prisma.$queryRaw<Array<{ attempt: unknown; connection: unknown }>>`
      WITH found AS (
        SELECT id, composio_account_id, status FROM connections
        WHERE tenant_id = ${job.tenantId}::uuid AND user_id = ${job.userId} AND ${which}
        ORDER BY updated_at DESC, id ASC
        LIMIT 1
      ), usable AS (
        SELECT id, composio_account_id FROM found WHERE status = 'ACTIVE' AND composio_account_id IS NOT NULL
      ), attempt AS (
        INSERT INTO executions AS e
          (id, tenant_id, user_id, tool_slug, arguments, idempotency_key, status, attempts, started_at, created_at,
           connection_id, connected_account_id)
        SELECT
          ${job.executionId}::uuid, ${job.tenantId}::uuid, ${job.userId}, ${job.toolSlug},
          ${JSON.stringify(job.arguments ?? {})}::jsonb, ${job.idempotencyKey ?? null}, 'RUNNING', 1,
          (${startedAt}::timestamptz AT TIME ZONE 'UTC'), (${createdAt}::timestamptz AT TIME ZONE 'UTC'),
          (SELECT id FROM usable), (SELECT composio_account_id FROM usable)
        ON CONFLICT (id) DO UPDATE SET
          status = 'RUNNING',
          attempts = e.attempts + 1,
          started_at = coalesce(e.started_at, EXCLUDED.started_at),
          idempotency_key = coalesce(e.idempotency_key, EXCLUDED.idempotency_key),
          connection_id = coalesce(EXCLUDED.connection_id, e.connection_id),
          connected_account_id = CASE WHEN EXCLUDED.connection_id IS NULL THEN e.connected_account_id
                                      ELSE EXCLUDED.connected_account_id END
        WHERE e.tenant_id = EXCLUDED.tenant_id AND e.status IN ('QUEUED', 'RUNNING')
        RETURNING e.id::text AS id, e.tenant_id::text AS "tenantId", e.status::text AS status
      )
      SELECT
        (SELECT row_to_json(attempt) FROM attempt) AS attempt,
        (SELECT json_build_object('id', id::text, 'composioAccountId', composio_account_id, 'status', status::text) FROM found)
          AS connection`;
    row = rows[0];
  } catch (error) {
    if (isDuplicate(error)) {
      // Another execution of the tenant holds this Idempotency-Key (the gateway answers with that one).
      throw new UnrecoverableError(encodeJobFailure({ code: "CONFLICT", message: "The idempotency key is used by another execution" }));
    }
    throw error;
  }
  // No attempt came back: the row exists and was left alone (final, or another tenant's). Rare: read it.
  const attempt =
    parsed<StartedAttempt>(row?.attempt) ??
    ((await prisma.execution.findUniqueOrThrow({
      where: { id: job.executionId },
      select: { id: true, tenantId: true, status: true },
    })) as StartedAttempt);
  if (attempt.tenantId !== job.tenantId) {
    throw new UnrecoverableError(encodeJobFailure({ code: "CONFLICT", message: "The execution id is already in use" }));
  }
  return { attempt, connection: parsed<FoundConnection>(row?.connection) };
}

/** What finishes an execution. `result` undefined: the stored result is left as it is. */
export interface FinalOutcome {
  status: "SUCCEEDED" | "FAILED";
  error: { code: string; message: string } | null;
  durationMs: number | null;
  logId: string | null;
  /** The stored result (see `storedResult`): JSON, or a truncated preview string. */
  result?: unknown;
  resultTruncated?: boolean;
}

/** Records the final outcome unless the execution is final already; whether this call recorded it. */
export async function recordOutcome(
  prisma: PrismaClient,
  execution: { executionId: string; tenantId: string },
  outcome: FinalOutcome,
  now: Date,
): Promise<boolean> {
  const withResult = outcome.result !== undefined;
  const count = await prisma.$executeRaw`
    UPDATE executions SET
      status = ${outcome.status}::"ExecutionStatus",
      error_code = ${outcome.error?.code ?? null},
      error_message = ${outcome.error?.message ?? null},
      log_id = ${outcome.logId},
      duration_ms = ${outcome.durationMs}::int,
      completed_at = (${now.toISOString()}::timestamptz AT TIME ZONE 'UTC'),
      result = CASE WHEN ${withResult} THEN ${withResult ? JSON.stringify(outcome.result ?? null) : null}::jsonb ELSE result END,
      result_truncated = CASE WHEN ${withResult} THEN ${outcome.resultTruncated ?? false} ELSE result_truncated END
    WHERE id = ${execution.executionId}::uuid AND tenant_id = ${execution.tenantId}::uuid AND status IN ('QUEUED', 'RUNNING')`;
  return count > 0;
}
