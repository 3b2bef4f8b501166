import type { ExecuteToolJob, ExecutionView, JobFailure } from "@kronos/shared";

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
