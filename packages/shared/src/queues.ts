import { z } from "zod";
import { labelsSchema } from "./domain.js";
import { ERROR_STATUS, type ErrorCode } from "./errors.js";

/** Every BullMQ queue, by its one name. */
export const QUEUES = {
  connection: "connection",
  statusPoll: "connection-status-poll",
  toolExecution: "tool-execution",
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Job names within the queues. */
export const JOBS = {
  initiateConnection: "initiate-connection",
  pollConnectionStatus: "poll-connection-status",
} as const;

export const initiateConnectionJobSchema = z.object({
  connectionId: z.uuid(),
  tenantId: z.uuid(),
  userId: z.string(),
  toolkit: z.string(),
  authConfigId: z.string().optional(),
  /** Where the user's browser should land after Composio's callback. */
  returnUrl: z.string().optional(),
  labels: labelsSchema,
  /** Who asked: "api_key:<id>" or "user:<user_id>", for the audit log. */
  actor: z.string(),
});
export type InitiateConnectionJob = z.infer<typeof initiateConnectionJobSchema>;

export const initiateConnectionResultSchema = z.object({
  connection_id: z.string(),
  redirect_url: z.string().nullable(),
  status: z.string(),
  expires_at: z.string().nullable(),
});
export type InitiateConnectionResult = z.infer<typeof initiateConnectionResultSchema>;

export const pollConnectionStatusJobSchema = z.object({
  connectionId: z.uuid(),
  tenantId: z.uuid(),
  /** How many reads so far; drives the backoff. */
  attempt: z.number().int().min(0).default(0),
});
export type PollConnectionStatusJob = z.infer<typeof pollConnectionStatusJobSchema>;

/** One poll job per connection at a time: its id is derived from the connection. */
export const statusPollJobId = (connectionId: string) => `poll-${connectionId}`;

/** Options every queue uses unless a job says otherwise: bounded history, retries with backoff. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * Why a job gave up, in a form the gateway can turn into an HTTP error: workers throw
 * `new UnrecoverableError(encodeJobFailure(...))`, the gateway reads `job.failedReason` with `decodeJobFailure`.
 */
export interface JobFailure {
  code: ErrorCode;
  message: string;
}

export function encodeJobFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeJobFailure(failedReason: string | undefined): JobFailure {
  if (failedReason) {
    try {
      const parsed = JSON.parse(failedReason) as Partial<JobFailure>;
      if (typeof parsed.code === "string" && parsed.code in ERROR_STATUS && typeof parsed.message === "string") {
        return { code: parsed.code as ErrorCode, message: parsed.message };
      }
    } catch {
      // Not one of ours (a crash, a stalled job): fall through to the generic answer.
    }
  }
  return { code: "UPSTREAM_ERROR", message: "The job failed" };
}
