import type { RouteContext } from "./context.js";
import { type ConnectedAccountRecord, type LinkRecord, nanoid } from "./state.js";

/** Starts (or restarts) the hosted-link flow of an account: INITIATED, with a fresh redirect URL to the emulator. */
export function startLink(ctx: RouteContext, account: ConnectedAccountRecord, callbackUrl: string | null): LinkRecord {
  const link: LinkRecord = {
    token: nanoid("lt", 20),
    connectedAccountId: account.id,
    callbackUrl,
    expiresAt: ctx.state.now() + ctx.linkTtlSeconds * 1000,
    used: false,
  };
  for (const [token, other] of ctx.state.links) if (other.connectedAccountId === account.id) ctx.state.links.delete(token);
  ctx.state.links.set(link.token, link);
  account.callbackUrl = callbackUrl;
  account.redirectUrl = `${ctx.publicUrl()}/link/${link.token}`;
  ctx.state.setAccountStatus(account, "INITIATED");
  return link;
}
