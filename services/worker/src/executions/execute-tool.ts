import { markCompletionPublished, type PrismaClient, prismaSql, publishOwnCompletion, type Sql, toExecutionView } from "@kronos/db";
import {
  ComposioError,
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
  markLatency,
} from "@kronos/shared";
import { describeComposioRefusal, describeError, Refusal } from "../jobs/failure-policy.js";
import { retryFinalWrite } from "../jobs/final-write.js";
import {
  clearCallMark,
  type FinalOutcome,
  type FoundConnection,
  type OutcomeTarget,
  recordOutcome,
  type StartedAttempt,
  startAttempt,
  toolkitOfTool,
} from "./execution-store.js";
import { parkForSignIn, type SignInDeps } from "./sign-in-on-demand.js";
import { type WakeDeps, wakeParkedOn } from "./wake-parked.js";

export { toolkitOfTool };

/** Execution.errorCode (and the event's error.code) when the tool ran and the provider said no (successful: false). */
export const TOOL_FAILED_CODE = "TOOL_FAILED";
/** Execution.errorCode of an execution whose earlier call reached Composio and whose answer was lost. */
export const OUTCOME_UNKNOWN_CODE = "OUTCOME_UNKNOWN";
export const OUTCOME_UNKNOWN_MESSAGE =
  "An earlier attempt reached Composio but its answer was lost (a worker stopped or the connection dropped): the tool " +
  "may or may not have run, so it was not run again. Check the account before asking again.";
/**
 * A larger view (a large result) is not sent to the waiting request: it reads the row instead. Nobody waits for most
 * executions, and Redis takes the message all the same.
 */
const WAKE_VIEW_MAX_CHARS = 65_536;
/** The Composio tag of tools that change nothing: they are safe to run again. */
export const READ_ONLY_TAG = "readOnlyHint";
/** Execution.errorCode when the connection exists but cannot be used (EXPIRED, INACTIVE, INITIATED...). */
export const CONNECTION_NOT_ACTIVE_CODE = "CONNECTION_NOT_ACTIVE";

export interface ExecuteToolDeps {
  config: Pick<Config, "EXECUTION_RESULT_MAX_BYTES" | "INFRA_RETRY_MAX_DELAY_MS" | "INFRA_RETRY_MAX_MS">;
  prisma: PrismaClient;
  /** The hot statements' runner (the pg pool); by default they go through `prisma`. */
  sql?: Sql;
  composio: Pick<ComposioPort, "executeTool" | "getTool" | "reserveCall">;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  now?: () => Date;
  /** Sign-in on demand (with the queues to wake parked executions); without it a missing connection fails as before. */
  signIn?: SignInDeps & WakeDeps;
  /** The attempts running in this process; without it an unanswered earlier call is never waited for. */
  attemptsInFlight?: AttemptsInFlight;
}

/**
 * The execution attempts running in one process (one per worker context), each the promise of its end: a second
 * attempt of the same execution (its job added again while the first ran, after Redis lost its data) waits for the
 * first, instead of taking the first's unanswered call for a lost one and ending the execution OUTCOME_UNKNOWN.
 */
export type AttemptsInFlight = Map<string, Promise<void>>;

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
  const inFlight = deps.attemptsInFlight;
  if (!inFlight) return runAttempt(deps, job);
  const earlier = inFlight.get(job.executionId);
  let over = () => {};
  const mine = new Promise<void>((resolve) => (over = resolve));
  inFlight.set(job.executionId, mine);
  try {
    return await runAttempt(deps, job, earlier);
  } finally {
    if (inFlight.get(job.executionId) === mine) inFlight.delete(job.executionId);
    over();
  }
}

async function runAttempt(deps: ExecuteToolDeps, job: ExecuteToolJob, earlier?: Promise<void>): Promise<ExecuteToolJobResult> {
  const log = deps.logger.child({ executionId: job.executionId, tool: job.toolSlug });

  // Round trips on the way to a result: the attempt with its connection (1), Composio, the final outcome (2).
  // Latency marks (off unless LATENCY_MARKS_FILE): where an execution's time goes, for the benchmark's P7.
  markLatency(job.executionId, "w.run");
  // The Composio budget's slot is taken while the attempt is recorded (not after it, on the way to the call).
  deps.composio.reserveCall?.();
  const started = await startAttempt({ sql: sqlOf(deps), prisma: deps.prisma }, job, deps.now?.() ?? new Date());
  if (isFinalExecutionStatus(started.attempt.status)) {
    log.info({ status: started.attempt.status }, "execution already finished; not running it again");
    return { execution_id: started.attempt.id, status: started.attempt.status };
  }
  if (started.attempt.status !== "RUNNING") {
    // Parked (waiting for a person): only its approval or sign-in queues it to run.
    throw new Refusal({ code: "CONFLICT", message: `The execution is ${started.attempt.status}` });
  }
  if (!job.connectedAccountId && !started.connection && deps.signIn) {
    // No ACTIVE connection of the toolkit: sign-in on demand parks the execution (unless the tenant turned it off).
    const signIn = await parkForSignIn({ ...deps.signIn, logger: log }, job);
    if (signIn.kind === "parked") {
      log.info({ connectionId: signIn.authorization.connection_id }, "parked until the user signs in");
      // The user may have finished before the execution was parked: then nothing else would wake it so soon.
      const connection = await deps.prisma.connection.findUnique({ where: { id: signIn.authorization.connection_id } });
      if (connection?.status === "ACTIVE") await wakeParkedOn({ ...deps.signIn, logger: log }, connection);
      return { execution_id: job.executionId, status: "AWAITING_AUTH" };
    }
  }
  const refusal = connectionRefusal(job, started.connection);
  if (refusal) throw refusal;
  if (started.attempt.earlierCallUnanswered && earlier) {
    // The earlier attempt is alive, in this process: its outcome is coming, and deciding OUTCOME_UNKNOWN now would
    // hide it. Wait for it to end, then look again.
    log.info("an earlier attempt of this execution is still running here; waiting for its outcome");
    await earlier;
    return runAttempt(deps, job);
  }
  if (started.attempt.earlierCallUnanswered && !(await mayRunAgain(deps, job, started.attempt))) {
    log.warn("an earlier attempt reached Composio without a recorded outcome; not running the tool again");
    await finishWithPatience(deps, job, {
      status: "OUTCOME_UNKNOWN",
      error: { code: OUTCOME_UNKNOWN_CODE, message: OUTCOME_UNKNOWN_MESSAGE },
      durationMs: null,
      logId: null,
    });
    return { execution_id: job.executionId, status: "OUTCOME_UNKNOWN" };
  }

  markLatency(job.executionId, "w.attempt");
  const startedAt = Date.now();
  let outcome: Awaited<ReturnType<ComposioPort["executeTool"]>>;
  try {
    outcome = await deps.composio.executeTool({
      toolSlug: job.toolSlug,
      arguments: job.arguments,
      connectedAccountId: started.connection?.composioAccountId ?? undefined,
      userId: composioUserId(job.tenantId, job.userId),
    });
  } catch (error) {
    // Composio answered (an HTTP error): the tool's fate is known, a retry is not a second run. A call cut off
    // without an answer keeps its mark, and the next attempt decides with mayRunAgain.
    if (composioAnswered(error)) await clearCallMark(sqlOf(deps), job);
    throw error;
  }
  markLatency(job.executionId, "w.composio");
  const durationMs = Date.now() - startedAt;
  const { result, truncated } = storedResult(outcome.data, deps.config.EXECUTION_RESULT_MAX_BYTES);
  const error = outcome.successful ? null : { code: TOOL_FAILED_CODE, message: outcome.error || "The tool failed" };
  const status = outcome.successful ? "SUCCEEDED" : "FAILED";
  // The tool ran: its outcome is written however long Postgres takes to come back (a lost outcome would make the
  // next attempt end OUTCOME_UNKNOWN).
  await finishWithPatience(deps, job, { status, error, durationMs, logId: outcome.logId, result, resultTruncated: truncated });
  log.info({ status, durationMs, logId: outcome.logId, truncated }, "tool executed");
  return { execution_id: job.executionId, status };
}

/**
 * Whether a tool whose earlier call may have run (no outcome recorded) may run again: a read-only tool (Composio's
 * readOnlyHint tag) always; any other only when the tenant says so. At most once is the default.
 */
async function mayRunAgain(deps: ExecuteToolDeps, job: ExecuteToolJob, attempt: StartedAttempt): Promise<boolean> {
  if (attempt.retryUnknownOutcomes) return true;
  const tool = await deps.composio.getTool(job.toolSlug);
  return tool.tags.includes(READ_ONLY_TAG);
}

/** Whether Composio answered the call (so the tool's fate is known): an HTTP status, or a call that never connected. */
function composioAnswered(error: unknown): boolean {
  if (!(error instanceof ComposioError)) return false;
  return error.details.status !== undefined || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(error.message);
}

/** finish, retried while Postgres is unreachable (for up to INFRA_RETRY_MAX_MS). */
async function finishWithPatience(deps: ExecuteToolDeps, job: ExecuteToolJob, outcome: FinalOutcome): Promise<void> {
  // One time for every try: a retry that finds the row final at this time finds its own write (see finish).
  const at = deps.now?.() ?? new Date();
  const written = await retryFinalWrite(() => finish(deps, job, outcome, at), deps.config, deps.logger);
  if (!written) throw new Error("Could not record the execution's outcome");
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

/**
 * Composio's 4xx on execute, in words for the client: the one map (describeComposioRefusal), except where an execute
 * answer means something else. A 404 may be about the tool or the connected account, so Composio's words say which;
 * a 422 is the account that cannot be used.
 */
export function describeExecuteRefusal(error: ComposioError, toolSlug: string): JobFailure {
  const status = error.details.status;
  if (status === 404 || error.kind === "not_found") return { code: "NOT_FOUND", message: `Composio: ${error.message}` };
  if (status === 422) return { code: "CONFLICT", message: `The connected account cannot be used: ${error.message}` };
  return describeComposioRefusal(error, `Tool "${toolSlug}"`);
}

/**
 * Records the final outcome (at `at`) if the execution is not final yet, then publishes execution.completed and notes
 * it in the row: two runs of the same execution publish it once. The same call wakes a request waiting for it
 * (`?wait=`), handing it the execution as the API shows it, so that it answers without reading the row. A retry whose
 * earlier try's write committed but lost its answer finds the row final at its own `at`: it publishes the event then
 * (see publishOwnCompletion); a row another writer made final is that writer's to publish.
 */
async function finish(deps: ExecuteToolDeps, job: OutcomeTarget, outcome: FinalOutcome, at = deps.now?.() ?? new Date()) {
  const row = await recordOutcome(sqlOf(deps), job, outcome, at);
  if (!row) {
    await publishOwnCompletion(deps, job.executionId, at);
    return false;
  }
  markLatency(job.executionId, "w.recorded");
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
    const view = JSON.stringify(toExecutionView(row));
    await deps.bus.publish(
      { type: EVENT_TYPES.executionCompleted, tenantId: job.tenantId, userId: job.userId, data },
      view.length <= WAKE_VIEW_MAX_CHARS ? { view } : {},
    );
    markLatency(job.executionId, "w.published");
  } catch (error) {
    // The outcome is stored; the row says its event is not published, and the sweeper publishes it.
    deps.logger.error({ err: describeError(error) }, "could not publish the execution.completed event");
    return true;
  }
  // Not waited for: the note is written with others', off this job's path (see markCompletionPublished).
  void markCompletionPublished(deps.sql ?? deps.prisma, job.executionId).catch((error: unknown) =>
    deps.logger.warn({ err: describeError(error) }, "could not note that execution.completed was published (it may be published twice)"),
  );
  return true;
}

/** Records a final failure (unless the execution is final already) and publishes it. Also the safety net's. */
export async function markExecutionFailed(
  deps: ExecuteToolDeps,
  job: OutcomeTarget,
  error: { code: string; message: string },
): Promise<boolean> {
  return finish(deps, job, { status: "FAILED", error, durationMs: null, logId: null });
}
