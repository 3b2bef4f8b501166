import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../context.js";
import { EmulatorApiError, ERRORS } from "../errors.js";
import { startLink } from "../links.js";
import { arrayParam, paginate, scalarParam } from "../pagination.js";
import { connectedAccountOut, connectionVal } from "../serialize.js";
import { type AuthConfigRecord, type ConnectedAccountRecord, nanoid } from "../state.js";

type Body = Record<string, unknown>;
const OAUTH_SCHEMES = new Set(["OAUTH2", "OAUTH1", "DCR_OAUTH"]);

function bodyOf(value: unknown): Body {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new EmulatorApiError(ERRORS.BAD_REQUEST, "body must be an object");
  return value as Body;
}

function optionalString(value: unknown, name: string): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") throw new EmulatorApiError(ERRORS.BAD_REQUEST, `${name} must be a string`);
  return value;
}

function requiredString(value: unknown, name: string): string {
  const v = optionalString(value, name);
  if (v === null) throw new EmulatorApiError(ERRORS.BAD_REQUEST, `${name} is required`);
  return v;
}

export async function connectedAccountRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { state } = ctx;

  function usableConfig(id: string): AuthConfigRecord {
    const config = state.authConfigs.get(id);
    if (!config) throw new EmulatorApiError(ERRORS.AUTH_CONFIG_NOT_FOUND, `Auth config ${id} not found`);
    if (config.status === "DISABLED") throw new EmulatorApiError(ERRORS.AUTH_CONFIG_DISABLED, `Auth config ${id} is disabled`);
    return config;
  }

  function getAccount(id: string): ConnectedAccountRecord {
    const account = state.accounts.get(id);
    if (!account) throw new EmulatorApiError(ERRORS.CONNECTED_ACCOUNT_NOT_FOUND, `No connected account found with id ${id}`);
    return account;
  }

  function newAccount(config: AuthConfigRecord, userId: string, data: Body = {}): ConnectedAccountRecord {
    const now = state.nowIso();
    const account: ConnectedAccountRecord = {
      id: nanoid("ca"),
      uuid: state.newUuid(),
      userId,
      authConfigId: config.id,
      toolkitSlug: config.toolkitSlug,
      status: "INITIALIZING",
      statusReason: null,
      isDisabled: false,
      callbackUrl: null,
      redirectUrl: null,
      data,
      createdAt: now,
      updatedAt: now,
    };
    state.accounts.set(account.id, account);
    return account;
  }

  app.post("/connected_accounts/link", async (request, reply) => {
    const body = bodyOf(request.body);
    const config = usableConfig(requiredString(body.auth_config_id, "auth_config_id"));
    const userId = requiredString(body.user_id, "user_id");
    const callbackUrl = optionalString(body.callback_url, "callback_url");
    const account = newAccount(config, userId);
    const link = startLink(ctx, account, callbackUrl);
    return reply.code(201).send({
      link_token: link.token,
      redirect_url: account.redirectUrl,
      expires_at: new Date(link.expiresAt).toISOString(),
      connected_account_id: account.id,
    });
  });

  app.post("/connected_accounts", async (request, reply) => {
    const body = bodyOf(request.body);
    const authConfig = bodyOf(body.auth_config);
    const connection = bodyOf(body.connection);
    const config = usableConfig(requiredString(authConfig.id, "auth_config.id"));
    if (config.isComposioManaged && OAUTH_SCHEMES.has(config.authScheme)) {
      throw new EmulatorApiError(
        ERRORS.CONNECTED_ACCOUNT_BAD_REQUEST,
        "Composio-managed OAuth auth configs must use POST /api/v3.1/connected_accounts/link to create connected accounts",
      );
    }
    const userId = requiredString(connection.user_id, "connection.user_id");
    const callbackUrl = optionalString(connection.callback_url, "connection.callback_url");
    const data = connection.data === undefined ? {} : bodyOf(connection.data);
    const account = newAccount(
      config,
      userId,
      Object.fromEntries(Object.entries(data).filter(([k]) => !/secret|token|key|password/i.test(k))),
    );
    if (OAUTH_SCHEMES.has(config.authScheme)) {
      startLink(ctx, account, callbackUrl);
    } else {
      state.setAccountStatus(account, "ACTIVE");
    }
    return reply.code(201).send({
      id: account.id,
      connectionData: { authScheme: config.authScheme, val: connectionVal(config.authScheme, account.status, account.redirectUrl) },
      status: account.status,
      redirect_url: account.redirectUrl,
      redirect_uri: account.redirectUrl,
      deprecated: { uuid: account.uuid, authConfigUuid: config.uuid },
    });
  });

  app.get("/connected_accounts", async (request) => {
    const q = request.query as Record<string, unknown>;
    const userIds = arrayParam(q.user_ids);
    const toolkitSlugs = arrayParam(q.toolkit_slugs)?.map((s) => s.toLowerCase());
    const statuses = arrayParam(q.statuses);
    const authConfigIds = arrayParam(q.auth_config_ids);
    const accountIds = arrayParam(q.connected_account_ids);
    const orderBy = scalarParam(q.order_by) === "updated_at" ? "updatedAt" : "createdAt";
    const direction = scalarParam(q.order_direction) === "asc" ? 1 : -1;
    const all = [...state.accounts.values()]
      .filter((a) => !userIds || userIds.includes(a.userId))
      .filter((a) => !toolkitSlugs || toolkitSlugs.includes(a.toolkitSlug))
      .filter((a) => !authConfigIds || authConfigIds.includes(a.authConfigId))
      .filter((a) => !accountIds || accountIds.includes(a.id))
      .map((a) => connectedAccountOut(state, a, ctx.version))
      .filter((a) => !statuses || statuses.includes(a.status))
      .sort(
        (a, b) =>
          direction * (orderBy === "updatedAt" ? a.updated_at.localeCompare(b.updated_at) : a.created_at.localeCompare(b.created_at)),
      );
    return paginate(all, q);
  });

  app.get<{ Params: { nanoid: string } }>("/connected_accounts/:nanoid", async (request) =>
    connectedAccountOut(state, getAccount(request.params.nanoid), ctx.version),
  );

  app.delete<{ Params: { nanoid: string } }>("/connected_accounts/:nanoid", async (request) => {
    const account = getAccount(request.params.nanoid);
    state.accounts.delete(account.id);
    state.deleteAccountTriggers(account.id);
    for (const [token, link] of state.links) if (link.connectedAccountId === account.id) state.links.delete(token);
    return { success: true };
  });

  app.post<{ Params: { nanoid: string }; Querystring: { redirect_url?: string } }>(
    "/connected_accounts/:nanoid/refresh",
    async (request) => {
      const account = getAccount(request.params.nanoid);
      const body = bodyOf(request.body);
      const config = state.authConfigs.get(account.authConfigId);
      const callbackUrl =
        optionalString(body.redirect_url, "redirect_url") ??
        optionalString(request.query.redirect_url, "redirect_url") ??
        account.callbackUrl;
      if (config && OAUTH_SCHEMES.has(config.authScheme)) {
        startLink(ctx, account, callbackUrl);
      } else {
        state.setAccountStatus(account, "ACTIVE");
      }
      return { id: account.id, status: account.status, redirect_url: account.status === "INITIATED" ? account.redirectUrl : null };
    },
  );

  app.post<{ Params: { nanoid: string } }>("/connected_accounts/:nanoid/revoke", async (request) => {
    const account = getAccount(request.params.nanoid);
    const alreadyRevoked = account.status === "REVOKED";
    const hadTokens = account.status === "ACTIVE" || account.status === "INACTIVE" || account.status === "EXPIRED";
    if (!alreadyRevoked) state.setAccountStatus(account, "REVOKED", "Revoked through the API");
    return {
      revoked_tokens: alreadyRevoked || !hadTokens ? [] : ["access_token", "refresh_token"],
      connected_account: { id: account.id, status: connectedAccountOut(state, account, ctx.version).status },
    };
  });

  app.patch<{ Params: { nanoId: string } }>("/connected_accounts/:nanoId/status", async (request) => {
    const account = getAccount(request.params.nanoId);
    const body = bodyOf(request.body);
    if (typeof body.enabled !== "boolean") throw new EmulatorApiError(ERRORS.BAD_REQUEST, "enabled must be a boolean");
    if (body.enabled) {
      if (account.status === "INACTIVE") state.setAccountStatus(account, "ACTIVE");
    } else if (account.status !== "REVOKED") {
      state.setAccountStatus(account, "INACTIVE", "Disabled through the API");
    }
    return { success: true };
  });
}
