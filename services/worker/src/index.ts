export {
  changeConnectionStatus,
  markConnectionFailed,
  STATUS_CHANGED_ACTION,
  type StatusChange,
  type StatusChangeDeps,
} from "./connection-status.js";
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
export { type RunningWorkers, startWorkers, type WorkerDeps } from "./workers.js";
