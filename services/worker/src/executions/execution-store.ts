import { type ExecutionViewRow, isDuplicateKeyError, type PrismaClient, type Sql } from "@kronos/db";
import { type ExecuteToolJob, isUuid, toolkitOfTool } from "@kronos/shared";
import { Refusal } from "../jobs/failure-policy.js";

// The two statements of a tool execution's hot path, in SQL on the pg pool: one round trip each, prepared once per
// connection, and nothing through Prisma's query pipeline (at hundreds of executions per second, that pipeline, even
// for raw SQL, was a sixth of the worker's CPU).

/** The execution row as an attempt found it. */
export interface StartedAttempt {
  id: string;
  tenantId: string;
  status: string;
  /**
   * An earlier attempt marked the row before calling Composio and no outcome was recorded since: that call may
   * have run. (This attempt's own mark is set by the same statement.)
   */
  earlierCallUnanswered?: boolean;
  /** The tenant lets a tool that changes something run again in that case (tenants.retry_unknown_outcomes). */
  retryUnknownOutcomes?: boolean;
}

/** The connection the attempt looked up (whether or not it can be used). */
export interface FoundConnection {
  id: string;
  composioAccountId: string | null;
  status: string;
}

export { toolkitOfTool };

const parsed = <T>(value: unknown): T | null =>
  value === null || value === undefined ? null : typeof value === "string" ? JSON.parse(value) : (value as T);

/** How the attempt finds its connection: by our id, by Composio's account id, or the toolkit's ACTIVE one. */
type Lookup = "by-id" | "by-account" | "by-toolkit";

const CONNECTION_FILTER: Record<Lookup, string> = {
  "by-id": "id = $3::uuid",
  "by-account": "composio_account_id = $3",
  "by-toolkit": "toolkit_slug = $3 AND status = 'ACTIVE' AND composio_account_id IS NOT NULL",
};

// Timestamps are stored as UTC in `timestamp(3)` columns (as Prisma does): ISO strings read as timestamptz, in UTC.
//
// The attempt commits without waiting for its WAL to reach the disk (synchronous_commit off for this one
// transaction): it is visible to every other session at once, so a worker that dies mid-call leaves its mark for
// the next attempt as before; only a crash of Postgres itself within a fraction of a second (wal_writer_delay) can
// lose it. The row it creates is then re-created by the outcome, which is written durably (recordOutcome is an
// upsert). Waiting for the disk here cost a millisecond or more on every execution (P7, bench/README.md).
const startAttemptText = (lookup: Lookup) => `
  WITH async_commit AS (
    SELECT set_config('synchronous_commit', 'off', true)
  ), earlier AS (
    SELECT composio_called_at IS NOT NULL AS unanswered FROM executions WHERE id = $4::uuid AND tenant_id = $1::uuid
  ), found AS (
    SELECT id, composio_account_id, status FROM connections
    WHERE tenant_id = $1::uuid AND user_id = $2 AND ${CONNECTION_FILTER[lookup]}
    ORDER BY updated_at DESC, id ASC
    LIMIT 1
  ), usable AS (
    SELECT id, composio_account_id FROM found WHERE status = 'ACTIVE' AND composio_account_id IS NOT NULL
  ), attempt AS (
    INSERT INTO executions AS e
      (id, tenant_id, user_id, tool_slug, arguments, idempotency_key, status, attempts, started_at, created_at,
       connection_id, connected_account_id, composio_called_at)
    SELECT $4::uuid, $1::uuid, $2, $5, $6::jsonb, $7, 'RUNNING', 1,
      ($8::timestamptz AT TIME ZONE 'UTC'), ($9::timestamptz AT TIME ZONE 'UTC'),
      (SELECT id FROM usable), (SELECT composio_account_id FROM usable),
      -- This attempt's mark, before it calls Composio (it calls only with a usable connection).
      CASE WHEN EXISTS (SELECT 1 FROM usable) THEN ($8::timestamptz AT TIME ZONE 'UTC') END
    FROM async_commit
    ON CONFLICT (id) DO UPDATE SET
      status = 'RUNNING',
      attempts = e.attempts + 1,
      started_at = coalesce(e.started_at, EXCLUDED.started_at),
      idempotency_key = coalesce(e.idempotency_key, EXCLUDED.idempotency_key),
      connection_id = coalesce(EXCLUDED.connection_id, e.connection_id),
      connected_account_id = CASE WHEN EXCLUDED.connection_id IS NULL THEN e.connected_account_id
                                  ELSE EXCLUDED.connected_account_id END,
      composio_called_at = EXCLUDED.composio_called_at
    WHERE e.tenant_id = EXCLUDED.tenant_id AND e.status IN ('QUEUED', 'RUNNING')
    RETURNING e.id::text AS id, e.tenant_id::text AS "tenantId", e.status::text AS status,
      coalesce((SELECT unanswered FROM earlier), false) AS "earlierCallUnanswered",
      (SELECT retry_unknown_outcomes FROM tenants WHERE id = $1::uuid) AS "retryUnknownOutcomes"
  )
  SELECT
    (SELECT row_to_json(attempt) FROM attempt) AS attempt,
    (SELECT json_build_object('id', id::text, 'composioAccountId', composio_account_id, 'status', status::text) FROM found)
      AS connection`;

const START_ATTEMPT: Record<Lookup, string> = {
  "by-id": startAttemptText("by-id"),
  "by-account": startAttemptText("by-account"),
  "by-toolkit": startAttemptText("by-toolkit"),
};

/**
 * In one statement: finds the connection the tool runs on (the given one, our id or Composio's, which must be the
 * user's; or the user's most recently updated ACTIVE connection of the tool's toolkit), and creates the execution row
 * (RUNNING, attempt 1) or marks a new attempt on it, with that connection when it can be used (ACTIVE, with a Composio
 * account). The row is left alone when it is final already or belongs to another tenant; it is then read back.
 */
export async function startAttempt(
  db: { sql: Sql; prisma: PrismaClient },
  job: ExecuteToolJob,
  now: Date,
): Promise<{ attempt: StartedAttempt; connection: FoundConnection | null }> {
  const given = job.connectedAccountId;
  const lookup: Lookup = given ? (isUuid(given) ? "by-id" : "by-account") : "by-toolkit";
  const values = [
    job.tenantId,
    job.userId,
    given ?? toolkitOfTool(job.toolSlug),
    job.executionId,
    job.toolSlug,
    JSON.stringify(job.arguments ?? {}),
    job.idempotencyKey ?? null,
    now.toISOString(),
    new Date().toISOString(),
  ];
  let row: { attempt: unknown; connection: unknown } | undefined;
  try {
    [row] = await db.sql.rows<{ attempt: unknown; connection: unknown }>({
      name: `execution-start-attempt-${lookup}`,
      text: START_ATTEMPT[lookup],
      values,
    });
  } catch (error) {
    if (isDuplicateKeyError(error)) {
      // Another execution of the tenant holds this Idempotency-Key (the gateway answers with that one).
      throw new Refusal({ code: "CONFLICT", message: "The idempotency key is used by another execution" }, { endRecord: false });
    }
    throw error;
  }
  // No attempt came back: the row exists and was left alone (final, or another tenant's). Rare: read it.
  const attempt =
    parsed<StartedAttempt>(row?.attempt) ??
    ((await db.prisma.execution.findUniqueOrThrow({
      where: { id: job.executionId },
      select: { id: true, tenantId: true, status: true },
    })) as StartedAttempt);
  if (attempt.tenantId !== job.tenantId) {
    throw new Refusal({ code: "CONFLICT", message: "The execution id is already in use" }, { endRecord: false });
  }
  return { attempt, connection: parsed<FoundConnection>(row?.connection) };
}

const CLEAR_CALL_MARK = `UPDATE executions SET composio_called_at = NULL WHERE id = $1::uuid AND tenant_id = $2::uuid`;

/** Composio answered this attempt (with an error): its call is not an unknown outcome any more. */
export async function clearCallMark(sql: Sql, execution: { executionId: string; tenantId: string }): Promise<void> {
  await sql.count({ name: "execution-clear-call-mark", text: CLEAR_CALL_MARK, values: [execution.executionId, execution.tenantId] });
}

/** What finishes an execution. `result` undefined: the stored result is left as it is. */
export interface FinalOutcome {
  status: "SUCCEEDED" | "FAILED" | "OUTCOME_UNKNOWN";
  error: { code: string; message: string } | null;
  durationMs: number | null;
  logId: string | null;
  /** The stored result (see `storedResult`): JSON, or a truncated preview string. */
  result?: unknown;
  resultTruncated?: boolean;
}

// What the API shows of an execution (ExecutionViewRow of @kronos/db), timestamps as timestamptz (UTC).
const VIEW_COLUMNS = `
    e.id::text AS id, e.user_id AS "userId", e.tool_slug AS "toolSlug", e.connected_account_id AS "connectedAccountId",
    e.status::text AS status, e.result, e.result_truncated AS "resultTruncated", e.error_code AS "errorCode",
    e.error_message AS "errorMessage", e.log_id AS "logId", e.duration_ms AS "durationMs", e.attempts,
    (e.created_at AT TIME ZONE 'UTC') AS "createdAt", (e.started_at AT TIME ZONE 'UTC') AS "startedAt",
    (e.completed_at AT TIME ZONE 'UTC') AS "completedAt", e.approval_rules AS "approvalRules",
    (e.parked_until AT TIME ZONE 'UTC') AS "parkedUntil", e.arguments_hash AS "argumentsHash",
    e.approval_arguments AS "approvalArguments", e.decided_by AS "decidedBy",
    (e.decided_at AT TIME ZONE 'UTC') AS "decidedAt"`;

// An upsert: the attempt's row is committed asynchronously (see startAttemptText), so after a crash of Postgres the
// outcome may find no row; it then writes the whole row, final. A final row is left alone.
const RECORD_OUTCOME = `
  INSERT INTO executions AS e
    (id, tenant_id, user_id, tool_slug, arguments, idempotency_key, status, attempts, error_code, error_message, log_id,
     duration_ms, created_at, completed_at, result, result_truncated)
  VALUES ($1::uuid, $2::uuid, $12, $13, $14::jsonb, $15, $3::"ExecutionStatus", 1, $4, $5, $6, $7::int,
    ($8::timestamptz AT TIME ZONE 'UTC'), ($8::timestamptz AT TIME ZONE 'UTC'),
    CASE WHEN $9::boolean THEN $10::jsonb END, CASE WHEN $9::boolean THEN $11::boolean ELSE false END)
  ON CONFLICT (id) DO UPDATE SET
    status = EXCLUDED.status,
    error_code = EXCLUDED.error_code,
    error_message = EXCLUDED.error_message,
    log_id = EXCLUDED.log_id,
    duration_ms = EXCLUDED.duration_ms,
    completed_at = EXCLUDED.completed_at,
    result = CASE WHEN $9::boolean THEN EXCLUDED.result ELSE e.result END,
    result_truncated = CASE WHEN $9::boolean THEN EXCLUDED.result_truncated ELSE e.result_truncated END
  WHERE e.tenant_id = EXCLUDED.tenant_id AND e.status IN ('QUEUED', 'RUNNING')
  RETURNING ${VIEW_COLUMNS}`;

/** The execution a final outcome is recorded for (what its row needs if the attempt's row is missing). */
export type OutcomeTarget = Pick<ExecuteToolJob, "executionId" | "tenantId" | "userId" | "toolSlug" | "arguments" | "idempotencyKey">;

/**
 * Records the final outcome unless the execution is final already: the execution as the API shows it now, or null
 * when it was final already (nothing recorded).
 */
export async function recordOutcome(
  sql: Sql,
  execution: OutcomeTarget,
  outcome: FinalOutcome,
  now: Date,
): Promise<ExecutionViewRow | null> {
  const withResult = outcome.result !== undefined;
  const [row] = await sql.rows<ExecutionViewRow>({
    name: "execution-record-outcome",
    text: RECORD_OUTCOME,
    values: [
      execution.executionId,
      execution.tenantId,
      outcome.status,
      outcome.error?.code ?? null,
      outcome.error?.message ?? null,
      outcome.logId,
      outcome.durationMs,
      now.toISOString(),
      withResult,
      withResult ? JSON.stringify(outcome.result ?? null) : null,
      outcome.resultTruncated ?? false,
      execution.userId,
      execution.toolSlug,
      JSON.stringify(execution.arguments ?? {}),
      execution.idempotencyKey ?? null,
    ],
  });
  return row ? viewRowOf(row) : null;
}

/** Through Prisma's raw queries (tests), JSON and dates may come back as text: the same row either way. */
function viewRowOf(row: ExecutionViewRow): ExecutionViewRow {
  const date = (value: unknown) =>
    value === null || value === undefined ? null : value instanceof Date ? value : new Date(value as string);
  return {
    ...row,
    result: parsed(row.result) as ExecutionViewRow["result"],
    approvalArguments: parsed(row.approvalArguments) as ExecutionViewRow["approvalArguments"],
    createdAt: date(row.createdAt) as Date,
    startedAt: date(row.startedAt),
    completedAt: date(row.completedAt),
    parkedUntil: date(row.parkedUntil),
    decidedAt: date(row.decidedAt),
  };
}
