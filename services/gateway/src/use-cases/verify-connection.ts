import { type Connection, type Prisma, recordAudit } from "@kronos/db";
import {
  AppError,
  actorOf,
  DEFAULT_JOB_OPTIONS,
  type ErrorCode,
  hashVerificationCode,
  notFound,
  type Principal,
  UNCONFIRMED_VERIFICATIONS,
  type VerifyConnectionBody,
  type VerifyConnectionResponse,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { acceptAndWait } from "../lib/accepted-jobs.js";
import { connectionRefWhere } from "../lib/connection-ref.js";
import { toConnectionView } from "../lib/connection-view.js";
import { returnLocation, statusCheck } from "./connection-callback.js";

/** Why a confirmation was refused, as the audit record says. */
type Refusal = "code_invalid" | "code_expired" | "code_used" | "user_mismatch" | "not_pending" | "sign_in_pending";

const REFUSALS: Record<Refusal, { code: ErrorCode; message: string }> = {
  code_invalid: { code: "VERIFICATION_CODE_INVALID", message: "This code was not issued for this connection" },
  code_expired: { code: "VERIFICATION_CODE_EXPIRED", message: "This code has expired: re-authorise the connection for a new sign-in" },
  code_used: { code: "VERIFICATION_CODE_USED", message: "This code has already been presented: codes are single use" },
  user_mismatch: {
    code: "VERIFICATION_USER_MISMATCH",
    message: "The sign-in was completed for another user than the one who asked: the connection failed",
  },
  not_pending: { code: "CONFLICT", message: "This connection is not awaiting a confirmation" },
  sign_in_pending: {
    code: "CONFLICT",
    message: "Composio does not report this sign-in finished yet: confirm again once it does (the code is kept)",
  },
};

/**
 * The tenant's backend confirms that the browser back from a sign-in belongs to `user_id` (its own session says so):
 * with the code the browser brought, single use, unexpired, issued for this connection. The same user: the
 * connection's verification becomes CONFIRMED, and the worker's status check (re-reading Composio, waited for up to
 * CONNECT_WAIT_MS) makes it ACTIVE through the one status change (event, audit, parked executions resumed). Another
 * user: REFUSED, and the worker fails the connection. Every refusal is audited; none makes the connection ACTIVE.
 */
export async function verifyConnection(
  ctx: GatewayContext,
  principal: Principal,
  connectionRef: string,
  body: VerifyConnectionBody,
): Promise<VerifyConnectionResponse> {
  const connection = await ctx.prisma.connection.findFirst({
    where: { ...connectionRefWhere(connectionRef), tenantId: principal.tenantId },
  });
  if (!connection) throw notFound("Connection");
  const actor = actorOf(principal);
  // The browser is back from Composio, but the callback's check may not have run yet: read Composio now (bounded by
  // CONNECT_WAIT_MS), so that a confirmation right after the callback finds the sign-in reported.
  if (connection.verification === "AWAITING_SIGN_IN" && (await presentable(ctx, connection.id, body.code))) {
    await askForStatusCheck(ctx, connection, `pending-${connection.id}-${Math.floor(Date.now() / 1000)}`, ctx.config.CONNECT_WAIT_MS);
  }
  const now = new Date();

  const outcome = await ctx.prisma.$transaction(async (tx): Promise<{ refused: Refusal | null; codeId: string | null }> => {
    const code = await tx.connectionVerificationCode.findUnique({ where: { codeHash: hashVerificationCode(body.code) } });
    const refuse = async (refused: Refusal) => {
      await recordAudit(tx, {
        tenantId: connection.tenantId,
        actor,
        action: "connection.verification_refused",
        resourceId: connection.id,
        data: { reason: refused, claimed_user_id: body.user_id, user_id: connection.userId, ...(code ? { code_id: code.id } : {}) },
      });
      return { refused, codeId: code?.id ?? null };
    };
    if (!code || code.connectionId !== connection.id) return refuse("code_invalid");
    if (code.usedAt) return refuse("code_used");
    if (code.expiresAt.getTime() <= now.getTime()) return refuse("code_expired");
    // Nobody has finished the sign-in at the provider yet: a confirmation now would vouch for whoever finishes it
    // later (the asker could open their own callback first, then send the link to someone else). The code is kept.
    const sameUser = body.user_id === code.userId && body.user_id === connection.userId;
    const current = await tx.connection.findUnique({ where: { id: connection.id }, select: { verification: true } });
    if (sameUser && current?.verification === "AWAITING_SIGN_IN") return refuse("sign_in_pending");
    // Single use, whatever happens next: the first presentation claims the code.
    const claimed = await tx.connectionVerificationCode.updateMany({ where: { id: code.id, usedAt: null }, data: { usedAt: now } });
    if (claimed.count === 0) return refuse("code_used");

    const awaiting: Prisma.ConnectionWhereInput = {
      id: connection.id,
      verification: { in: [...UNCONFIRMED_VERIFICATIONS] },
      status: { in: ["INITIALIZING", "INITIATED"] },
    };
    if (!sameUser) {
      // Someone else finished this user's sign-in: the account at Composio is not theirs to use. The worker fails it.
      await tx.connection.updateMany({ where: awaiting, data: { verification: "REFUSED" } });
      return refuse("user_mismatch");
    }
    const confirmed = await tx.connection.updateMany({
      where: { ...awaiting, verification: "AWAITING_CONFIRMATION" },
      data: { verification: "CONFIRMED" },
    });
    if (confirmed.count === 0) return refuse("not_pending");
    await recordAudit(tx, {
      tenantId: connection.tenantId,
      actor,
      action: "connection.verified",
      resourceId: connection.id,
      data: { user_id: connection.userId, code_id: code.id },
    });
    return { refused: null, codeId: code.id };
  });

  if (outcome.refused === "user_mismatch") await askForStatusCheck(ctx, connection, outcome.codeId, 0);
  if (outcome.refused) {
    const { code, message } = REFUSALS[outcome.refused];
    throw new AppError(code, message);
  }
  await askForStatusCheck(ctx, connection, outcome.codeId, ctx.config.CONNECT_WAIT_MS);
  const row = await ctx.prisma.connection.findFirst({ where: { id: connection.id, tenantId: principal.tenantId } });
  if (!row) throw notFound("Connection");
  return {
    connection: toConnectionView(row),
    next_url: row.returnUrl ? returnLocation(row.returnUrl, row.id, row.status === "ACTIVE" ? "success" : "unknown") : null,
  };
}

/** Whether a code could confirm this connection now (issued for it, unused, unexpired): only then is Composio read. */
async function presentable(ctx: GatewayContext, connectionId: string, code: string): Promise<boolean> {
  const found = await ctx.prisma.connectionVerificationCode.findUnique({
    where: { codeHash: hashVerificationCode(code) },
    select: { connectionId: true, usedAt: true, expiresAt: true },
  });
  return found !== null && found.connectionId === connectionId && found.usedAt === null && found.expiresAt.getTime() > Date.now();
}

/**
 * The worker's one-shot status check, recorded durably (the sweeper adds it again if Redis loses it), waited for up
 * to `waitMs`: it re-reads Composio and applies the verification (ACTIVE once confirmed, FAILED once refused).
 */
async function askForStatusCheck(ctx: GatewayContext, connection: Connection, name: string | null, waitMs: number): Promise<void> {
  const check = statusCheck(connection, `verify-${name ?? connection.id}`);
  // Kept in Redis once completed (unlike the callback's checks): the sweeper takes a recorded job that Redis does
  // not have for a lost one and adds it again, so a completed job must stay visible for as long as its record.
  const opts = { ...check.opts, removeOnComplete: DEFAULT_JOB_OPTIONS.removeOnComplete };
  const queue = ctx.queues.statusPoll;
  const record = { queue: queue.name, name: check.name, jobId: check.jobId, tenantId: connection.tenantId, data: check.data, opts };
  await acceptAndWait(ctx, record, { queue, events: ctx.queues.statusPollEvents }, waitMs, () => queue.add(check.name, check.data, opts));
}
