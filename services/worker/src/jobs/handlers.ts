import { authConfigOpJob } from "../auth-configs/jobs.js";
import { completeBulkJob } from "../bulk/jobs.js";
import { connectionOpJob, initiateConnectionJob, pollConnectionStatusJob, reconcileConnectionsJob } from "../connections/jobs.js";
import { executeToolJob } from "../executions/jobs.js";
import { sweepAcceptedJob } from "../sweeper/jobs.js";
import { reconcileTriggersJob, triggerOpJob } from "../triggers/jobs.js";
import { deliverWebhookJob } from "../webhook-deliveries/jobs.js";
import { processWebhookEventJob } from "../webhook-events/jobs.js";
import type { JobRegistry } from "./registry.js";

/**
 * The job registry: every queue of QUEUE_CONTRACTS (packages/shared) and the handler that runs its jobs, one line
 * each. A new job kind adds its contract there and its handler here (in its capability's folder); startWorkers
 * refuses to start when the two disagree.
 */
export const JOB_HANDLERS: JobRegistry = {
  connection: initiateConnectionJob,
  statusPoll: pollConnectionStatusJob,
  connectionOps: connectionOpJob,
  reconcile: reconcileConnectionsJob,
  authConfig: authConfigOpJob,
  toolExecution: executeToolJob,
  bulk: completeBulkJob,
  webhookEvent: processWebhookEventJob,
  sweeper: sweepAcceptedJob,
  triggerOps: triggerOpJob,
  triggerReconcile: reconcileTriggersJob,
  webhookDelivery: deliverWebhookJob,
};
