import { JOBS, notFound, type PollConnectionStatusJob } from "@kronos/shared";
import type { GatewayContext } from "../context.js";

export type CallbackOutcome = "success" | "failed" | "unknown";

/** Composio's `status` query parameter is untrusted: only its two documented values pass. */
export function sanitiseCallbackStatus(value: unknown): CallbackOutcome {
  return value === "success" || value === "failed" ? value : "unknown";
}

/**
 * Where Composio sends the user's browser after the OAuth flow: asks the worker to re-read the account now (what
 * Composio's query says is never trusted), then tells the caller where the browser goes next (null: nowhere).
 */
export async function handleConnectionCallback(
  ctx: GatewayContext,
  connectionId: string,
  outcome: CallbackOutcome,
): Promise<{ location: string | null }> {
  const connection = await ctx.prisma.connection.findUnique({
    where: { id: connectionId },
    select: { id: true, tenantId: true, returnUrl: true },
  });
  if (!connection) throw notFound("Connection");

  const data: PollConnectionStatusJob = { connectionId: connection.id, tenantId: connection.tenantId, attempt: 0 };
  // One check per connection per second at most: a reloaded callback page adds the same job id again, a no-op.
  const jobId = `check-${connection.id}-${Math.floor(Date.now() / 1000)}`;
  await ctx.queues.statusPoll.add(JOBS.pollConnectionStatus, data, {
    jobId,
    removeOnComplete: true,
    removeOnFail: { age: 24 * 3600 },
    attempts: 3,
  });

  return { location: connection.returnUrl ? returnLocation(connection.returnUrl, connection.id, outcome) : null };
}

function returnLocation(returnUrl: string, connectionId: string, outcome: CallbackOutcome): string | null {
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
