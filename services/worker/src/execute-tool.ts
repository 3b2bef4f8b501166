import { type Connection, isUniqueViolation, Prisma, type PrismaClient } from "@kronos/db";
import {
  type ComposioError,
  type ComposioPort,
  type Config,
  composioUserId,
  EVENT_TYPES,
  type EventBus,
  type ExecuteToolJob,
  type ExecuteToolJobResult,
  type ExecutionCompletedEventData,
  encodeJobFailure,
  executeToolJobSchema,
  type JobFailure,
  type Logger,
} from "@kronos/shared";
import { UnrecoverableError } from "bullmq";
import { type Attempt, decideOnError, describeComposioRefusal, describeError, Refusal } from "./failures.js";

/** Execution.errorCode (and the event's error.code) when the tool ran and the provider said no (successful: false). */
export const TOOL_FAILED_CODE = "TOOL_FAILED";
/** Execution.errorCode when the connection exists but cannot be used (EXPIRED, INACTIVE, INITIATED...). */
export const CONNECTION_NOT_ACTIVE_CODE = "CONNECTION_NOT_ACTIVE";

export interface ExecuteToolDeps {
  config: Pick<Config, "EXECUTION_RESULT_MAX_BYTES">;
  prisma: PrismaClient;
  composio: Pick<ComposioPort, "executeTool">;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  now?: () => Date;
}

/** A refusal with the code stored on the execution, which may be more precise than the job failure's. */
class ExecutionRefusal extends Refusal {
  constructor(
    failure: JobFailure,
    readonly executionCode: string = failure.code,
  ) {
    super(failure);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The toolkit of a tool: the slug's prefix before the first "_", lower-cased (GITHUB_CREATE_ISSUE -> github). */
export function toolkitOfTool(toolSlug: string): string {
  const at = toolSlug.indexOf("_");
  return (at > 0 ? toolSlug.slice(0, at) : toolSlug).toLowerCase();
}

/** The stored result: the data itself, or, past `maxBytes` of JSON, a preview (the first bytes of that JSON). */
export function storedResult(
  data: unknown,
  maxBytes: number,
): { result: Prisma.InputJsonValue | typeof Prisma.JsonNull; truncated: boolean } {
  if (data === undefined || data === null) return { result: Prisma.JsonNull, truncated: false };
  const json = JSON.stringify(data);
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= maxBytes) return { result: data as Prisma.InputJsonValue, truncated: false };
  // Cut on a character boundary: a split multi-byte character decodes as U+FFFD, dropped here.
  const preview = Buffer.from(json, "utf8")
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
  return { result: preview, truncated: true };
}

/**
 * Runs one tool for one user: records the attempt on the Execution row (RUNNING), resolves the connected account
 * (the given one, which must be the user's and ACTIVE, or the user's ACTIVE connection of the tool's toolkit), runs
 * the tool at Composio and records the final outcome once, publishing `execution.completed` once. A provider
 * failure (HTTP 200, successful: false) completes the job with FAILED; refusals and Composio's 4xx fail the job
 * (UnrecoverableError) after recording FAILED; 5xx, timeouts and malformed answers are retried, and the last attempt
 * records why it gave up. An execution that is already final is not run again.
 */
export async function executeTool(deps: ExecuteToolDeps, rawData: unknown, attempt: Attempt): Promise<ExecuteToolJobResult> {
  const parsed = executeToolJobSchema.safeParse(rawData);
  if (!parsed.success) throw new UnrecoverableError(encodeJobFailure({ code: "VALIDATION_FAILED", message: "Invalid tool-execution job" }));
  const job = parsed.data;
  const log = deps.logger.child({ executionId: job.executionId, tool: job.toolSlug });
  const alreadyFinished = (started: StartedAttempt): ExecuteToolJobResult => {
    log.info({ status: started.status }, "execution already finished; not running it again");
    return { execution_id: started.id, status: started.status as "SUCCEEDED" | "FAILED" };
  };
  const giveUp = async (error: unknown): Promise<never> => {
    const decision = decideOnError(error, attempt, (e) => describeExecuteRefusal(e, job.toolSlug));
    if (decision.action === "rethrow") {
      log.warn({ err: describeError(error), attemptsMade: attempt.attemptsMade }, "tool execution attempt failed; will retry");
      throw error;
    }
    const code = error instanceof ExecutionRefusal ? error.executionCode : decision.failure.code;
    log.warn({ err: describeError(error), code }, "tool execution failed");
    await markExecutionFailed(deps, job, { code, message: decision.failure.message });
    throw new UnrecoverableError(encodeJobFailure(decision.failure));
  };

  // Round trips on the way to a result: the connection (1), the attempt with that connection on the row (2), the
  // final outcome (3).
  let connection: Connection;
  try {
    connection = await resolveConnection(deps, job);
  } catch (error) {
    // Not run yet: record the attempt (the row may not exist yet) so that the failure lands on it, unless the
    // execution is already final.
    const started = await startAttempt(deps, job, null);
    if (isFinal(started.status)) return alreadyFinished(started);
    return giveUp(error);
  }
  const started = await startAttempt(deps, job, connection);
  if (isFinal(started.status)) return alreadyFinished(started);

  try {
    const startedAt = Date.now();
    const outcome = await deps.composio.executeTool({
      toolSlug: job.toolSlug,
      arguments: job.arguments,
      connectedAccountId: connection.composioAccountId ?? undefined,
      userId: composioUserId(job.tenantId, job.userId),
    });
    const durationMs = Date.now() - startedAt;
    const { result, truncated } = storedResult(outcome.data, deps.config.EXECUTION_RESULT_MAX_BYTES);
    const error = outcome.successful ? null : { code: TOOL_FAILED_CODE, message: outcome.error || "The tool failed" };
    const status = outcome.successful ? "SUCCEEDED" : "FAILED";
    await finish(deps, job, { status, error, durationMs, logId: outcome.logId, result, resultTruncated: truncated });
    log.info({ status, durationMs, logId: outcome.logId, truncated }, "tool executed");
    return { execution_id: job.executionId, status };
  } catch (error) {
    return giveUp(error);
  }
}

const isFinal = (status: string) => status === "SUCCEEDED" || status === "FAILED";

/** Composio's 4xx on execute, in words for the client. */
function describeExecuteRefusal(error: ComposioError, toolSlug: string): JobFailure {
  const status = error.details.status;
  if (status === 404 || error.kind === "not_found") return { code: "NOT_FOUND", message: `Composio: ${error.message}` };
  if (status === 410) return { code: "BAD_REQUEST", message: `Tool "${toolSlug}" is deprecated at Composio: ${error.message}` };
  if (status === 422) return { code: "CONFLICT", message: `The connected account cannot be used: ${error.message}` };
  return describeComposioRefusal(error, `Tool "${toolSlug}"`);
}

/** What startAttempt reads back. */
interface StartedAttempt {
  id: string;
  tenantId: string;
  status: string;
}

/** Postgres refused a duplicate: P2002 from a Prisma query; from a raw one, P2010 with the driver's 23505 inside. */
function isDuplicate(error: unknown): boolean {
  if (isUniqueViolation(error)) return true;
  const e = error as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  if (typeof e !== "object" || e === null || e.code !== "P2010") return false;
  return e.meta?.code === "23505" || e.meta?.driverAdapterError?.cause?.originalCode === "23505";
}

/**
 * Creates the row (RUNNING, attempt 1, on `connection`) or marks a new attempt on it, in one statement; returns it as
 * it stands. The row is left alone (and read back) when it is final already or belongs to another tenant. With no
 * connection (it could not be resolved), the row keeps the connection an earlier attempt recorded.
 */
async function startAttempt(deps: ExecuteToolDeps, job: ExecuteToolJob, connection: Connection | null): Promise<StartedAttempt> {
  const now = (deps.now?.() ?? new Date()).toISOString();
  const createdAt = new Date().toISOString();
  let row: StartedAttempt | undefined;
  try {
    // Timestamps are stored as UTC in `timestamp(3)` columns (as Prisma does): ISO strings read as timestamptz, in UTC.
    const rows = await deps.prisma.$queryRaw<StartedAttempt[]>`
      INSERT INTO executions AS e
        (id, tenant_id, user_id, tool_slug, arguments, idempotency_key, status, attempts, started_at, created_at,
         connection_id, connected_account_id)
      VALUES (
        ${job.executionId}::uuid, ${job.tenantId}::uuid, ${job.userId}, ${job.toolSlug},
        ${JSON.stringify(job.arguments ?? {})}::jsonb, ${job.idempotencyKey ?? null}, 'RUNNING', 1,
        (${now}::timestamptz AT TIME ZONE 'UTC'), (${createdAt}::timestamptz AT TIME ZONE 'UTC'),
        ${connection?.id ?? null}::uuid, ${connection?.composioAccountId ?? null})
      ON CONFLICT (id) DO UPDATE SET
        status = 'RUNNING',
        attempts = e.attempts + 1,
        started_at = coalesce(e.started_at, EXCLUDED.started_at),
        idempotency_key = coalesce(e.idempotency_key, EXCLUDED.idempotency_key),
        connection_id = coalesce(EXCLUDED.connection_id, e.connection_id),
        connected_account_id = CASE WHEN EXCLUDED.connection_id IS NULL THEN e.connected_account_id
                                    ELSE EXCLUDED.connected_account_id END
      WHERE e.tenant_id = EXCLUDED.tenant_id AND e.status IN ('QUEUED', 'RUNNING')
      RETURNING e.id::text AS id, e.tenant_id::text AS "tenantId", e.status::text AS status`;
    row = rows[0];
  } catch (error) {
    if (isDuplicate(error)) {
      // Another execution of the tenant holds this Idempotency-Key (the gateway answers with that one).
      throw new UnrecoverableError(encodeJobFailure({ code: "CONFLICT", message: "The idempotency key is used by another execution" }));
    }
    throw error;
  }
  // Nothing came back: the row exists and was left alone (final, or another tenant's). Rare: read it.
  row ??= (await deps.prisma.execution.findUniqueOrThrow({
    where: { id: job.executionId },
    select: { id: true, tenantId: true, status: true },
  })) as StartedAttempt;
  if (row.tenantId !== job.tenantId) {
    throw new UnrecoverableError(encodeJobFailure({ code: "CONFLICT", message: "The execution id is already in use" }));
  }
  return row;
}

/** The connection the tool runs on: the given one (our id or Composio's), or the user's ACTIVE one of the toolkit. */
async function resolveConnection(deps: ExecuteToolDeps, job: ExecuteToolJob): Promise<Connection> {
  if (job.connectedAccountId) {
    const given = job.connectedAccountId;
    const where = UUID.test(given) ? { id: given } : { composioAccountId: given };
    const row = await deps.prisma.connection.findFirst({ where: { ...where, tenantId: job.tenantId, userId: job.userId } });
    if (!row?.composioAccountId) {
      throw new ExecutionRefusal({ code: "NOT_FOUND", message: `Connection "${given}" not found for user "${job.userId}"` });
    }
    if (row.status !== "ACTIVE") {
      throw new ExecutionRefusal(
        { code: "CONFLICT", message: `Connection "${row.id}" is ${row.status}, not ACTIVE: the connection is not active` },
        CONNECTION_NOT_ACTIVE_CODE,
      );
    }
    return row;
  }
  const toolkit = toolkitOfTool(job.toolSlug);
  const row = await deps.prisma.connection.findFirst({
    where: { tenantId: job.tenantId, userId: job.userId, toolkitSlug: toolkit, status: "ACTIVE", composioAccountId: { not: null } },
    orderBy: [{ updatedAt: "desc" }, { id: "asc" }],
  });
  if (!row) {
    throw new ExecutionRefusal({ code: "NOT_FOUND", message: `User "${job.userId}" has no ACTIVE ${toolkit} connection` });
  }
  return row;
}

interface FinalOutcome {
  status: "SUCCEEDED" | "FAILED";
  error: { code: string; message: string } | null;
  durationMs: number | null;
  logId: string | null;
  result?: Prisma.InputJsonValue | typeof Prisma.JsonNull;
  resultTruncated?: boolean;
}

/**
 * Records the final outcome if the execution is not final yet, and then (only then) publishes execution.completed:
 * two runs of the same execution publish it once.
 */
async function finish(
  deps: ExecuteToolDeps,
  job: Pick<ExecuteToolJob, "executionId" | "tenantId" | "userId" | "toolSlug">,
  outcome: FinalOutcome,
) {
  const now = deps.now?.() ?? new Date();
  const { count } = await deps.prisma.execution.updateMany({
    where: { id: job.executionId, tenantId: job.tenantId, status: { in: ["QUEUED", "RUNNING"] } },
    data: {
      status: outcome.status,
      errorCode: outcome.error?.code ?? null,
      errorMessage: outcome.error?.message ?? null,
      logId: outcome.logId,
      durationMs: outcome.durationMs,
      completedAt: now,
      ...(outcome.result !== undefined ? { result: outcome.result, resultTruncated: outcome.resultTruncated ?? false } : {}),
    },
  });
  if (count === 0) return false;
  const data: ExecutionCompletedEventData = {
    execution_id: job.executionId,
    user_id: job.userId,
    tool: job.toolSlug,
    status: outcome.status,
    error: outcome.error,
    duration_ms: outcome.durationMs,
    log_id: outcome.logId,
  };
  try {
    await deps.bus.publish({ type: EVENT_TYPES.executionCompleted, tenantId: job.tenantId, userId: job.userId, data });
  } catch (error) {
    // The outcome is stored; a retry would not publish it again, so do not fail the job over it.
    deps.logger.error({ err: describeError(error) }, "could not publish the execution.completed event");
  }
  return true;
}

/** Records a final failure (unless the execution is final already) and publishes it. Also the safety net's. */
export async function markExecutionFailed(
  deps: ExecuteToolDeps,
  job: Pick<ExecuteToolJob, "executionId" | "tenantId" | "userId" | "toolSlug">,
  error: { code: string; message: string },
): Promise<boolean> {
  return finish(deps, job, { status: "FAILED", error, durationMs: null, logId: null });
}
