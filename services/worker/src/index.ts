export { type AuthConfigOpDeps, runAuthConfigOp } from "./auth-config-ops.js";
export { bulkResults, type CompleteBulkDeps, completeBulk } from "./complete-bulk.js";
export { type ConnectionOpDeps, DELETED_REASON, runConnectionOp } from "./connection-ops.js";
export {
  changeConnectionStatus,
  markConnectionFailed,
  STATUS_CHANGED_ACTION,
  type StatusChange,
  type StatusChangeDeps,
} from "./connection-status.js";
export {
  CONNECTION_NOT_ACTIVE_CODE,
  type ExecuteToolDeps,
  executeTool,
  storedResult,
  TOOL_FAILED_CODE,
  toolkitOfTool,
} from "./execute-tool.js";
export { jobFailureFromComposioError } from "./failures.js";
export { buildHealthServer } from "./health.js";
export {
  CONNECTION_INITIATED_ACTION,
  connectionCallbackUrl,
  type InitiateConnectionDeps,
  initiateConnection,
  managedAuthConfigKey,
  usesConnectLink,
} from "./initiate-connection.js";
export {
  decideAfterReadError,
  decidePending,
  LINK_EXPIRED_REASON,
  nextPollDelayMs,
  type PollConnectionStatusDeps,
  type PollOutcome,
  pollConnectionStatus,
} from "./poll-connection-status.js";
export { type ProcessWebhookEventDeps, processWebhookEvent } from "./process-webhook-event.js";
export { DELETED_AT_COMPOSIO_REASON, type ReconcileDeps, reconcileConnections, reconcileDecision } from "./reconcile-connections.js";
export { attemptOf } from "./retries.js";
export { type RunningWorkers, scheduleReconciliation, startWorkers, type WorkerDeps } from "./workers.js";
