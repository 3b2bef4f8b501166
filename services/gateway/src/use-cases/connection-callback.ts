import { randomUUID } from "node:crypto";
import { recordAudit } from "@kronos/db";
import {
  callbackSecretMatches,
  generateVerificationCode,
  isAwaitingVerification,
  isSettled,
  JOBS,
  notFound,
  type PollConnectionStatusJob,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";

export type CallbackOutcome = "success" | "failed" | "unknown";

/** Codes issued per connection at most: each visit of the callback issues one, and the link may be opened again. */
export const MAX_VERIFICATION_CODES = 10;

/** Composio's `status` query parameter is untrusted: only its two documented values pass. */
export function sanitiseCallbackStatus(value: unknown): CallbackOutcome {
  return value === "success" || value === "failed" ? value : "unknown";
}

/** The one-shot status check the callback (and a verification) asks the worker for; one a second per connection. */
export function statusCheck(
  connection: { id: string; tenantId: string },
  jobId = `check-${connection.id}-${Math.floor(Date.now() / 1000)}`,
) {
  const data: PollConnectionStatusJob = { connectionId: connection.id, tenantId: connection.tenantId, attempt: 0 };
  return {
    name: JOBS.pollConnectionStatus,
    data,
    jobId,
    opts: { jobId, removeOnComplete: true, removeOnFail: { age: 24 * 3600 }, attempts: 3 },
  };
}

/**
 * Where Composio sends the user's browser after the OAuth flow: asks the worker to re-read the account now (what
 * Composio's query says is never trusted), then tells the caller where the browser goes next (null: nowhere) and
 * whether the sign-in is to be shown as failed. With the tenant's user verifier, that is its verification URL with a
 * one-time code (unless Composio says the sign-in failed): the connection becomes ACTIVE only once the tenant's
 * backend confirms the code for the same user. A code goes only to a browser that brings the link's callback secret
 * (`secret`, the `k` query parameter Composio sends back): the connection id alone, which the asker knows, gets none.
 */
export async function handleConnectionCallback(
  ctx: GatewayContext,
  connectionId: string,
  outcome: CallbackOutcome,
  secret: unknown,
): Promise<{ location: string | null; failed: boolean }> {
  const connection = await ctx.prisma.connection.findUnique({
    where: { id: connectionId },
    select: {
      id: true,
      tenantId: true,
      userId: true,
      status: true,
      returnUrl: true,
      verification: true,
      expiresAt: true,
      callbackSecretHash: true,
    },
  });
  if (!connection) throw notFound("Connection");

  // A reloaded callback page adds the same job id again within the second: a no-op.
  const check = statusCheck(connection);
  await ctx.queues.statusPoll.add(check.name, check.data, check.opts);

  const back = (to: CallbackOutcome) => ({
    location: connection.returnUrl ? returnLocation(connection.returnUrl, connection.id, to) : null,
    failed: to === "failed",
  });
  if (isAwaitingVerification(connection.verification) && !isSettled(connection.status) && outcome !== "failed") {
    if (!callbackSecretMatches(secret, connection.callbackSecretHash)) {
      // Not the browser Composio sent back (someone who knows the connection id), or a link made before callback
      // secrets: no code, the connection left as it is (its own sign-in can still come back with the secret).
      await recordAudit(ctx.prisma, {
        tenantId: connection.tenantId,
        actor: "browser",
        action: "connection.verification_refused",
        resourceId: connection.id,
        data: { reason: secret === undefined ? "callback_secret_missing" : "callback_secret_invalid", user_id: connection.userId },
      });
      return back("failed");
    }
    const verifier = await verificationLocation(ctx, connection);
    if (verifier) return { location: verifier, failed: false };
    // No verifier any more (removed since the link was made), or too many codes: this sign-in cannot be confirmed.
    return back("failed");
  }
  return back(outcome);
}

/**
 * Issues a one-time code (only its SHA-256 is stored, bound to the connection and its user, valid
 * CONNECTION_VERIFICATION_CODE_TTL_SECONDS) and answers the tenant's verification URL carrying it, or null when the
 * tenant has no verification URL now or the connection has had its share of codes. The connection's expiry is
 * pushed back to the code's so that it does not fail while its code may still be confirmed.
 */
async function verificationLocation(
  ctx: GatewayContext,
  connection: { id: string; tenantId: string; userId: string; expiresAt: Date | null },
): Promise<string | null> {
  const tenant = await ctx.prisma.tenant.findUnique({ where: { id: connection.tenantId }, select: { verificationUrl: true } });
  if (!tenant?.verificationUrl) return null;
  const issued = await ctx.prisma.connectionVerificationCode.count({ where: { connectionId: connection.id } });
  if (issued >= MAX_VERIFICATION_CODES) return null;

  const { code, hash } = generateVerificationCode();
  const expiresAt = new Date(Date.now() + ctx.config.CONNECTION_VERIFICATION_CODE_TTL_SECONDS * 1000);
  const codeId = randomUUID();
  await ctx.prisma.$transaction(async (tx) => {
    await tx.connectionVerificationCode.create({
      data: {
        id: codeId,
        tenantId: connection.tenantId,
        connectionId: connection.id,
        userId: connection.userId,
        codeHash: hash,
        expiresAt,
      },
    });
    await tx.connection.updateMany({
      where: { id: connection.id, OR: [{ expiresAt: null }, { expiresAt: { lt: expiresAt } }] },
      data: { expiresAt },
    });
    await recordAudit(tx, {
      tenantId: connection.tenantId,
      actor: "browser",
      action: "connection.verification_code_issued",
      resourceId: connection.id,
      data: { code_id: codeId, user_id: connection.userId, expires_at: expiresAt.toISOString() },
    });
  });
  const url = new URL(tenant.verificationUrl);
  url.searchParams.set("connection_id", connection.id);
  url.searchParams.set("code", code);
  return url.toString();
}

/** The client's redirect_url with connection_id and status appended (null when it is no http(s) URL). */
export function returnLocation(returnUrl: string, connectionId: string, outcome: CallbackOutcome): string | null {
  let url: URL;
  try {
    url = new URL(returnUrl);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  url.searchParams.set("connection_id", connectionId);
  url.searchParams.set("status", outcome);
  return url.toString();
}

export const CALLBACK_DONE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connection</title></head>
<body><p>You can close this window.</p></body></html>
`;

/** Shown when the sign-in cannot be completed from this browser and the client gave no redirect_url. */
export const CALLBACK_FAILED_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connection</title></head>
<body><p>This sign-in could not be completed. Close this window and start the connection again from the app.</p></body></html>
`;
