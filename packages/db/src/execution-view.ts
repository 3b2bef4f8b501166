import { type ExecutionAuthorization, type ExecutionView, isFinalExecutionStatus } from "@kronos/shared";
import type { Execution } from "./generated/prisma/client.js";

/** The columns an execution's API view is made of (a Prisma row, or the worker's outcome statement's RETURNING). */
export type ExecutionViewRow = Pick<
  Execution,
  | "id"
  | "userId"
  | "toolSlug"
  | "connectedAccountId"
  | "status"
  | "result"
  | "resultTruncated"
  | "errorCode"
  | "errorMessage"
  | "logId"
  | "durationMs"
  | "attempts"
  | "createdAt"
  | "startedAt"
  | "completedAt"
  | "approvalRules"
  | "parkedUntil"
  | "argumentsHash"
  | "approvalArguments"
  | "decidedBy"
  | "decidedAt"
>;

/**
 * An execution as the API shows it: the gateway's answers, and the view the worker hands to a waiting request with
 * the execution's final outcome (so that request answers without reading the row). `authorization`: for an
 * AWAITING_AUTH execution, the sign-in it waits for.
 */
export function toExecutionView(row: ExecutionViewRow, authorization?: ExecutionAuthorization): ExecutionView {
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
