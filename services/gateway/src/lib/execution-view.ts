import type { Execution } from "@kronos/db";
import {
  type ExecuteToolJob,
  type ExecutionAuthorization,
  type ExecutionView,
  isFinalExecutionStatus,
  type JobFailure,
} from "@kronos/shared";

/** `authorization`: for an AWAITING_AUTH execution, the sign-in it waits for. */
export function toExecutionView(row: Execution, authorization?: ExecutionAuthorization): ExecutionView {
  const finished = isFinalExecutionStatus(row.status);
  return {
    execution_id: row.id,
    user_id: row.userId,
    action_name: row.toolSlug,
    connected_account_id: row.connectedAccountId,
    status: row.status,
    successful: finished ? row.status === "SUCCEEDED" : null,
    data: row.result ?? null,
    result_truncated: row.resultTruncated,
    error: row.errorCode || row.errorMessage ? { code: row.errorCode ?? "UPSTREAM_ERROR", message: row.errorMessage ?? "" } : null,
    log_id: row.logId,
    duration_ms: row.durationMs,
    attempts: row.attempts,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    completed_at: row.completedAt?.toISOString() ?? null,
    ...(authorization && row.status === "AWAITING_AUTH" ? { authorization } : {}),
    // Only for an execution that asked for an approval.
    ...(row.approvalRules.length > 0
      ? {
          approval: {
            expires_at: row.parkedUntil?.toISOString() ?? null,
            rules: row.approvalRules,
            arguments_hash: row.argumentsHash,
            arguments: (row.approvalArguments as Record<string, unknown> | null) ?? null,
            decided_by: row.decidedBy,
            decided_at: row.decidedAt?.toISOString() ?? null,
          },
        }
      : {}),
  };
}

/** An execution whose job exists but whose row the worker has not written yet. */
export function pendingExecutionView(
  job: { data: ExecuteToolJob; timestamp: number; processedOn?: number | undefined; finishedOn?: number | undefined; attemptsMade: number },
  state: "QUEUED" | "RUNNING" | "FAILED",
  failure: JobFailure | null,
): ExecutionView {
  return {
    execution_id: job.data.executionId,
    user_id: job.data.userId,
    action_name: job.data.toolSlug,
    connected_account_id: job.data.connectedAccountId ?? null,
    status: state,
    successful: state === "FAILED" ? false : null,
    data: null,
    result_truncated: false,
    error: failure,
    log_id: null,
    duration_ms: null,
    attempts: job.attemptsMade,
    created_at: new Date(job.timestamp).toISOString(),
    started_at: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    completed_at: state === "FAILED" && job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
