import { type PrismaClient, prismaSql, type Sql } from "@kronos/db";
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
  isFinalExecutionStatus,
  type JobFailure,
  type Logger,
} from "@kronos/shared";
import { describeComposioRefusal, describeError, Refusal } from "../jobs/failure-policy.js";
import { type FinalOutcome, type FoundConnection, recordOutcome, startAttempt, toolkitOfTool } from "./execution-store.js";

export { toolkitOfTool };

/** Execution.errorCode (and the event's error.code) when the tool ran and the provider said no (successful: false). */
export const TOOL_FAILED_CODE = "TOOL_FAILED";
/** Execution.errorCode when the connection exists but cannot be used (EXPIRED, INACTIVE, INITIATED...). */
export const CONNECTION_NOT_ACTIVE_CODE = "CONNECTION_NOT_ACTIVE";

export interface ExecuteToolDeps {
  config: Pick<Config, "EXECUTION_RESULT_MAX_BYTES">;
  prisma: PrismaClient;
  /** The hot statements' runner (the pg pool); by default they go through `prisma`. */
  sql?: Sql;
  composio: Pick<ComposioPort, "executeTool">;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  now?: () => Date;
}

/** The stored result: the data itself (null for none), or, past `maxBytes` of JSON, a preview (the first bytes of that JSON). */
export function storedResult(data: unknown, maxBytes: number): { result: unknown; truncated: boolean } {
  if (data === undefined || data === null) return { result: null, truncated: false };
  const json = JSON.stringify(data);
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= maxBytes) return { result: data, truncated: false };
  // Cut on a character boundary: a split multi-byte character decodes as U+FFFD, dropped here.
  const preview = Buffer.from(json, "utf8")
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
  return { result: preview, truncated: true };
}

/**
 * Runs one tool for one user: records the attempt on the Execution row (RUNNING) together with the connected account
 * it found (the given one, which must be the user's and ACTIVE, or the user's ACTIVE connection of the tool's
 * toolkit), runs the tool at Composio and records the final outcome once, publishing `execution.completed` once. A
 * provider failure (HTTP 200, successful: false) completes the job with FAILED. Refusals and Composio's errors are
 * thrown: the failure policy decides (retry, give up), and a job that gives up ends the row FAILED through
 * `markExecutionFailed`. An execution that is already final is not run again.
 */
export async function executeTool(deps: ExecuteToolDeps, job: ExecuteToolJob): Promise<ExecuteToolJobResult> {
  const log = deps.logger.child({ executionId: job.executionId, tool: job.toolSlug });

  // Round trips on the way to a result: the attempt with its connection (1), Composio, the final outcome (2).
  const started = await startAttempt({ sql: sqlOf(deps), prisma: deps.prisma }, job, deps.now?.() ?? new Date());
  if (isFinalExecutionStatus(started.attempt.status)) {
    log.info({ status: started.attempt.status }, "execution already finished; not running it again");
    return { execution_id: started.attempt.id, status: started.attempt.status };
  }
  const refusal = connectionRefusal(job, started.connection);
  if (refusal) throw refusal;

  const startedAt = Date.now();
  const outcome = await deps.composio.executeTool({
    toolSlug: job.toolSlug,
    arguments: job.arguments,
    connectedAccountId: started.connection?.composioAccountId ?? undefined,
    userId: composioUserId(job.tenantId, job.userId),
  });
  const durationMs = Date.now() - startedAt;
  const { result, truncated } = storedResult(outcome.data, deps.config.EXECUTION_RESULT_MAX_BYTES);
  const error = outcome.successful ? null : { code: TOOL_FAILED_CODE, message: outcome.error || "The tool failed" };
  const status = outcome.successful ? "SUCCEEDED" : "FAILED";
  await finish(deps, job, { status, error, durationMs, logId: outcome.logId, result, resultTruncated: truncated });
  log.info({ status, durationMs, logId: outcome.logId, truncated }, "tool executed");
  return { execution_id: job.executionId, status };
}

/** Why the connection the attempt found cannot run the tool (null: it can). */
function connectionRefusal(job: ExecuteToolJob, connection: FoundConnection | null): Refusal | null {
  if (!job.connectedAccountId) {
    const toolkit = toolkitOfTool(job.toolSlug);
    return connection ? null : new Refusal({ code: "NOT_FOUND", message: `User "${job.userId}" has no ACTIVE ${toolkit} connection` });
  }
  if (!connection?.composioAccountId) {
    return new Refusal({
      code: "NOT_FOUND",
      message: `Connection "${job.connectedAccountId}" not found for user "${job.userId}"`,
    });
  }
  if (connection.status !== "ACTIVE") {
    return new Refusal(
      { code: "CONFLICT", message: `Connection "${connection.id}" is ${connection.status}, not ACTIVE: the connection is not active` },
      { recordCode: CONNECTION_NOT_ACTIVE_CODE },
    );
  }
  return null;
}

const sqlOf = (deps: ExecuteToolDeps): Sql => deps.sql ?? prismaSql(deps.prisma);

/** Composio's 4xx on execute, in words for the client. */
export function describeExecuteRefusal(error: ComposioError, toolSlug: string): JobFailure {
  const status = error.details.status;
  if (status === 404 || error.kind === "not_found") return { code: "NOT_FOUND", message: `Composio: ${error.message}` };
  if (status === 410) return { code: "BAD_REQUEST", message: `Tool "${toolSlug}" is deprecated at Composio: ${error.message}` };
  if (status === 422) return { code: "CONFLICT", message: `The connected account cannot be used: ${error.message}` };
  return describeComposioRefusal(error, `Tool "${toolSlug}"`);
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
  if (!(await recordOutcome(sqlOf(deps), job, outcome, deps.now?.() ?? new Date()))) return false;
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
