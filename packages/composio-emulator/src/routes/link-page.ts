import type { FastifyInstance, FastifyReply } from "fastify";
import type { EmulatorState } from "../state.js";

function page(reply: FastifyReply, status: number, title: string, text: string) {
  const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return reply
    .code(status)
    .type("text/html; charset=utf-8")
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>${html(title)}</title></head><body><h1>${html(title)}</h1><p>${html(text)}</p></body></html>`,
    );
}

/**
 * The browser side of the hosted link: GET /link/:token plays the whole OAuth dance at once. The account becomes
 * ACTIVE (or FAILED with `?deny=1`, or when the link expired) and the browser goes to the callback URL with
 * `status=success|failed` and `connected_account_id`.
 */
export async function linkPageRoutes(app: FastifyInstance, state: EmulatorState): Promise<void> {
  app.get<{ Params: { token: string }; Querystring: { deny?: string } }>("/link/:token", async (request, reply) => {
    const link = state.links.get(request.params.token);
    const account = link ? state.accounts.get(link.connectedAccountId) : undefined;
    if (!link || !account) return page(reply, 404, "Link not found", "This connection link does not exist.");
    if (link.used) return page(reply, 410, "Link already used", "This connection link has already been used.");
    link.used = true;

    let outcome: "success" | "failed";
    if (state.now() > link.expiresAt) {
      state.setAccountStatus(account, "FAILED", "The connection link expired");
      outcome = "failed";
    } else if (request.query.deny === "1" || request.query.deny === "true") {
      state.setAccountStatus(account, "FAILED", "The user denied access");
      outcome = "failed";
    } else {
      state.setAccountStatus(account, "ACTIVE");
      outcome = "success";
    }
    account.redirectUrl = null;

    if (link.callbackUrl) {
      const target = new URL(link.callbackUrl);
      target.searchParams.set("status", outcome);
      target.searchParams.set("connected_account_id", account.id);
      return reply.redirect(target.toString(), 302);
    }
    return outcome === "success"
      ? page(reply, 200, "Connection successful", "You can close this window.")
      : page(reply, 200, "Connection failed", account.statusReason ?? "The connection failed.");
  });
}
