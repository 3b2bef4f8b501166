import type { Connection, PrismaClient } from "@kronos/db";
import {
  ComposioError,
  type ComposioPort,
  type Config,
  type ConnectionStatus,
  type EventBus,
  isSettled,
  type Logger,
  type PollConnectionStatusJob,
} from "@kronos/shared";
import { describeError, isRateLimited } from "../jobs/failure-policy.js";
import { changeConnectionStatus } from "./connection-status.js";

export const LINK_EXPIRED_REASON = "The connect link expired before the user finished";
/** A sign-in Composio reports done, which the tenant's backend did not confirm before the connection's expiry. */
export const NOT_CONFIRMED_REASON = "The tenant did not confirm the sign-in in time";
/** The tenant's backend confirmed the sign-in's code for another user than the one who asked. */
export const REFUSED_REASON = "The sign-in was confirmed for another user than the one who asked";

/** Why a pending connection fails at its expiry. */
export const expiryReasonOf = (row: Partial<Pick<Connection, "verification">>) =>
  row.verification === "AWAITING_CONFIRMATION" ? NOT_CONFIRMED_REASON : LINK_EXPIRED_REASON;
export const ACCOUNT_GONE_REASON = "The connected account no longer exists at Composio";
/** While Composio cannot be read, the main poller keeps trying until this long after the link expired. */
export const POLL_ERROR_GRACE_MS = 15 * 60_000;
const WORKER_ACTOR = "worker";

export interface PollConnectionStatusDeps {
  config: Pick<Config, "STATUS_POLL_INITIAL_DELAY_MS" | "STATUS_POLL_MAX_DELAY_MS">;
  prisma: PrismaClient;
  composio: Pick<ComposioPort, "getConnectedAccount">;
  bus: Pick<EventBus, "publish">;
  logger: Logger;
  now?: () => Date;
}

/** What the processor does next: stop, or read again after `delayMs` (only the connection's main poller). */
export type PollOutcome =
  | { kind: "done"; status: ConnectionStatus | null; reason: string }
  | { kind: "reschedule"; delayMs: number; attempt: number };

/** Delay before the next read, after `attempt` reads: min(initial * 2^attempt, max), and never past the link's expiry. */
export function nextPollDelayMs(attempt: number, options: { initialMs: number; maxMs: number; untilExpiryMs?: number | null }): number {
  const exponential = options.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30);
  let delay = Math.min(exponential, options.maxMs);
  if (options.untilExpiryMs !== undefined && options.untilExpiryMs !== null && options.untilExpiryMs > 0) {
    // Read once right after the link expires rather than up to `max` later.
    delay = Math.min(delay, Math.max(options.untilExpiryMs + 1, options.initialMs));
  }
  return delay;
}

/** What to do with a connection that is still pending after a successful read. */
export function decidePending(input: { expiresAt: Date | null; now: Date; isMainPoller: boolean }): "expire" | "reschedule" | "stop" {
  if (input.expiresAt && input.expiresAt.getTime() < input.now.getTime()) return "expire";
  return input.isMainPoller ? "reschedule" : "stop";
}

/** What to do when Composio could not be read for a reason that may pass. */
export function decideAfterReadError(input: { expiresAt: Date | null; now: Date; isMainPoller: boolean }): "retry" | "reschedule" | "stop" {
  if (!input.isMainPoller) return "retry";
  if (input.expiresAt && input.now.getTime() > input.expiresAt.getTime() + POLL_ERROR_GRACE_MS) return "stop";
  return "reschedule";
}

/**
 * One read of a connection's status at Composio. The main poller (job id `statusPollJobId(connectionId)`) asks to be
 * rescheduled while the connection is pending; one-shot checks (other job ids, e.g. added by the gateway when the
 * browser comes back) never do. A retryable Composio error is rethrown by one-shot checks (BullMQ retries them)
 * and turns into a later read for the main poller; it never fails the connection.
 */
export async function pollConnectionStatus(
  deps: PollConnectionStatusDeps,
  job: PollConnectionStatusJob,
  options: { isMainPoller: boolean },
): Promise<PollOutcome> {
  const row = await deps.prisma.connection.findUnique({ where: { id: job.connectionId } });
  if (!row || row.tenantId !== job.tenantId) return { kind: "done", status: null, reason: "no such connection" };
  if (isSettled(row.status)) return { kind: "done", status: row.status, reason: "already settled" };
  // The tenant named another user: nothing Composio says changes that.
  if (row.verification === "REFUSED") return { kind: "done", status: await settle(deps, row, "FAILED", REFUSED_REASON), reason: "refused" };

  const now = deps.now?.() ?? new Date();
  const reschedule = (): PollOutcome => ({
    kind: "reschedule",
    attempt: job.attempt + 1,
    delayMs: nextPollDelayMs(job.attempt + 1, {
      initialMs: deps.config.STATUS_POLL_INITIAL_DELAY_MS,
      maxMs: deps.config.STATUS_POLL_MAX_DELAY_MS,
      untilExpiryMs: row.expiresAt ? row.expiresAt.getTime() - now.getTime() : null,
    }),
  });
  if (!row.composioAccountId) {
    // The connection job has not reached Composio yet.
    return options.isMainPoller ? reschedule() : { kind: "done", status: row.status, reason: "not started yet" };
  }

  let account: Awaited<ReturnType<ComposioPort["getConnectedAccount"]>>;
  try {
    account = await deps.composio.getConnectedAccount(row.composioAccountId);
  } catch (error) {
    if (error instanceof ComposioError && (error.kind === "not_found" || error.details.status === 404)) {
      const final = await settle(deps, row, "FAILED", ACCOUNT_GONE_REASON);
      return { kind: "done", status: final, reason: "account not found" };
    }
    // A 429 pauses the whole queue (the worker's processor does it) and this read runs again after the pause.
    if (isRateLimited(error)) throw error;
    const decision = decideAfterReadError({ expiresAt: row.expiresAt, now, isMainPoller: options.isMainPoller });
    deps.logger.warn({ err: describeError(error), decision }, "could not read the connected account");
    if (decision === "retry") throw error;
    if (decision === "stop") return { kind: "done", status: row.status, reason: "gave up reading Composio" };
    return reschedule();
  }

  let current: ConnectionStatus = row.status;
  if (account.status !== row.status) {
    const changed = await changeConnectionStatus(deps, {
      connectionId: row.id,
      from: row.status,
      to: account.status,
      reason: account.statusReason,
      actor: WORKER_ACTOR,
    });
    current = changed ? changed.status : ((await deps.prisma.connection.findUnique({ where: { id: row.id } }))?.status ?? account.status);
  }
  if (isSettled(current)) return { kind: "done", status: current, reason: "settled" };

  const decision = decidePending({ expiresAt: row.expiresAt, now, isMainPoller: options.isMainPoller });
  if (decision === "expire") {
    const latest = (await deps.prisma.connection.findUnique({ where: { id: row.id } })) ?? row;
    const final = await settle(deps, { ...row, status: current }, "FAILED", expiryReasonOf(latest));
    return { kind: "done", status: final, reason: "link expired" };
  }
  if (decision === "stop") return { kind: "done", status: current, reason: "one-shot check" };
  return reschedule();
}

/** Moves a pending connection to a settled status; returns the status it ends up in. */
async function settle(deps: PollConnectionStatusDeps, row: Connection, to: ConnectionStatus, reason: string): Promise<ConnectionStatus> {
  if (row.status === to) return to;
  const changed = await changeConnectionStatus(deps, { connectionId: row.id, from: row.status, to, reason, actor: WORKER_ACTOR });
  if (changed) return changed.status;
  return (await deps.prisma.connection.findUnique({ where: { id: row.id } }))?.status ?? to;
}
