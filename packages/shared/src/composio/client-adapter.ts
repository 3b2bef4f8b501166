import Composio, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@composio/client";
import { CONNECTION_STATUSES } from "../domain.js";
import { createExecuteTransport } from "./execute-transport.js";
import {
  type ComposioAuthConfig,
  type ComposioConnectedAccount,
  ComposioError,
  type ComposioErrorKind,
  type ComposioPort,
  type ComposioTool,
  type ComposioToolkit,
  type ComposioTriggerInstance,
  type ComposioTriggerType,
  type Page,
} from "./port.js";

export interface ComposioClientOptions {
  apiKey: string;
  /** Origin of the API (https://backend.composio.dev, or the emulator's URL); the client adds /api/v3.1. */
  baseUrl: string;
  timeoutMs: number;
}

type Json = Record<string, unknown>;

const KNOWN_STATUSES = new Set<string>(CONNECTION_STATUSES);

/** Thrown by the mapping helpers when a 2xx body does not have the shape Composio documents. */
class MalformedResponse extends Error {}

function obj(value: unknown, what: string): Json {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new MalformedResponse(`${what} is not an object`);
  return value as Json;
}

function str(value: unknown, what: string): string {
  if (typeof value !== "string") throw new MalformedResponse(`${what} is not a string`);
  return value;
}

function optStr(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function page<T>(body: unknown, what: string, map: (item: unknown) => T): Page<T> {
  const b = obj(body, what);
  if (!Array.isArray(b.items)) throw new MalformedResponse(`${what}.items is not an array`);
  return { items: b.items.map(map), nextCursor: optStr(b.next_cursor) };
}

function status(value: unknown): ComposioConnectedAccount["status"] {
  if (typeof value !== "string" || !KNOWN_STATUSES.has(value as ComposioConnectedAccount["status"])) {
    throw new MalformedResponse(`unknown connected account status ${String(value)}`);
  }
  return value as ComposioConnectedAccount["status"];
}

function toAuthConfig(raw: unknown): ComposioAuthConfig {
  const c = obj(raw, "auth config");
  const toolkit = obj(c.toolkit, "auth config toolkit");
  return {
    id: str(c.id, "auth config id"),
    name: typeof c.name === "string" ? c.name : "",
    toolkitSlug: str(toolkit.slug, "auth config toolkit slug"),
    authScheme: optStr(c.auth_scheme),
    isComposioManaged: c.is_composio_managed === true,
    status: c.status === "DISABLED" ? "DISABLED" : "ENABLED",
    connectionCount: typeof c.no_of_connections === "number" ? c.no_of_connections : 0,
    createdAt: optStr(c.created_at),
  };
}

function toConnectedAccount(raw: unknown): ComposioConnectedAccount {
  const a = obj(raw, "connected account");
  return {
    id: str(a.id, "connected account id"),
    userId: str(a.user_id, "connected account user_id"),
    status: status(a.status),
    statusReason: optStr(a.status_reason),
    isDisabled: a.is_disabled === true,
    toolkitSlug: str(obj(a.toolkit, "connected account toolkit").slug, "connected account toolkit slug"),
    authConfigId: str(obj(a.auth_config, "connected account auth_config").id, "connected account auth_config id"),
    createdAt: optStr(a.created_at),
    updatedAt: optStr(a.updated_at),
  };
}

function toToolkit(raw: unknown): ComposioToolkit {
  const t = obj(raw, "toolkit");
  const meta = t.meta && typeof t.meta === "object" ? (t.meta as Json) : {};
  const categories = Array.isArray(meta.categories)
    ? meta.categories
        .map((c) => (typeof c === "string" ? c : (optStr((c as Json | null)?.id) ?? optStr((c as Json | null)?.slug))))
        .filter((c): c is string => c !== null)
    : [];
  return {
    slug: str(t.slug, "toolkit slug"),
    name: typeof t.name === "string" ? t.name : str(t.slug, "toolkit slug"),
    description: optStr(meta.description),
    logo: optStr(meta.logo),
    categories,
    authSchemes: strings(t.auth_schemes),
    composioManagedAuthSchemes: strings(t.composio_managed_auth_schemes),
    noAuth: t.no_auth === true,
    toolsCount: typeof meta.tools_count === "number" ? meta.tools_count : null,
  };
}

function toTool(raw: unknown): ComposioTool {
  const t = obj(raw, "tool");
  return {
    slug: str(t.slug, "tool slug"),
    name: typeof t.name === "string" ? t.name : str(t.slug, "tool slug"),
    description: optStr(t.description),
    toolkitSlug: str(obj(t.toolkit, "tool toolkit").slug, "tool toolkit slug"),
    inputParameters: t.input_parameters ?? null,
    outputParameters: t.output_parameters ?? null,
    version: optStr(t.version),
    tags: strings(t.tags),
    noAuth: t.no_auth === true,
  };
}

function jsonObject(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
}

function toTriggerType(raw: unknown): ComposioTriggerType {
  const t = obj(raw, "trigger type");
  return {
    slug: str(t.slug, "trigger type slug"),
    name: typeof t.name === "string" ? t.name : str(t.slug, "trigger type slug"),
    description: optStr(t.description),
    instructions: optStr(t.instructions),
    type: optStr(t.type),
    toolkitSlug: str(obj(t.toolkit, "trigger type toolkit").slug, "trigger type toolkit slug"),
    config: jsonObject(t.config),
    payload: jsonObject(t.payload),
    version: optStr(t.version),
  };
}

function toTriggerInstance(raw: unknown): ComposioTriggerInstance {
  const t = obj(raw, "trigger instance");
  return {
    id: str(t.id, "trigger instance id"),
    slug: str(t.trigger_name, "trigger instance trigger_name"),
    connectedAccountId: str(t.connected_account_id, "trigger instance connected_account_id"),
    userId: typeof t.user_id === "string" ? t.user_id : "",
    config: jsonObject(t.trigger_config),
    disabled: typeof t.disabled_at === "string" && t.disabled_at !== "",
    updatedAt: optStr(t.updated_at),
  };
}

/** Retry-After in seconds, from delta-seconds or an HTTP date. */
function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const raw = headers?.get("retry-after");
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function kindForStatus(httpStatus: number): ComposioErrorKind {
  if (httpStatus === 429) return "rate_limited";
  if (httpStatus === 401 || httpStatus === 403) return "auth";
  if (httpStatus === 404) return "not_found";
  if (httpStatus === 408) return "timeout";
  if (httpStatus >= 500) return "server";
  return "client";
}

/** Classifies anything the client threw. The API key never reaches the message. */
export function toComposioError(operation: string, error: unknown, apiKey: string): ComposioError {
  const scrub = (text: string) => (apiKey ? text.split(apiKey).join("[redacted]") : text);
  if (error instanceof ComposioError) return error;
  if (error instanceof MalformedResponse || error instanceof SyntaxError) {
    return new ComposioError("malformed", scrub(`Composio ${operation}: unreadable response (${error.message})`));
  }
  if (error instanceof APIConnectionTimeoutError || error instanceof APIUserAbortError) {
    return new ComposioError("timeout", `Composio ${operation}: timed out`);
  }
  if (error instanceof APIConnectionError) {
    return new ComposioError("network", scrub(`Composio ${operation}: network error (${error.message})`));
  }
  if (error instanceof APIError && typeof error.status === "number") {
    const body = (error.error ?? {}) as Json;
    const envelope = (body.error && typeof body.error === "object" ? body.error : body) as Json;
    const details: ComposioError["details"] = { status: error.status };
    if (typeof envelope.code === "number" || typeof envelope.code === "string") details.code = envelope.code;
    if (typeof envelope.slug === "string") details.slug = envelope.slug;
    const requestId = optStr(envelope.request_id) ?? error.headers?.get("x-request-id") ?? null;
    if (requestId) details.requestId = requestId;
    const kind = kindForStatus(error.status);
    if (kind === "rate_limited") {
      const after = retryAfterSeconds(error.headers);
      if (after !== undefined) details.retryAfterSeconds = after;
    }
    const message = optStr(envelope.message) ?? optStr(body.message) ?? "no message";
    return new ComposioError(kind, scrub(`Composio ${operation} failed with HTTP ${error.status}: ${message}`), details);
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ComposioError("network", scrub(`Composio ${operation}: ${text}`));
}

/** The ComposioPort over the official `@composio/client` (v3.1). Retries are off: our queues own them. */
export function createComposioClient(options: ComposioClientOptions): ComposioPort {
  const client = new Composio({
    apiKey: options.apiKey,
    baseURL: options.baseUrl.replace(/\/+$/, ""),
    timeout: options.timeoutMs,
    maxRetries: 0,
    logLevel: "off",
  });
  // The hot path's one call, over a keep-alive agent (see execute-transport.ts).
  const postExecute = createExecuteTransport(options);

  async function call<T>(operation: string, run: () => Promise<unknown>, map: (body: unknown) => T): Promise<T> {
    try {
      return map(await run());
    } catch (error) {
      throw toComposioError(operation, error, options.apiKey);
    }
  }

  const port: ComposioPort = {
    listAuthConfigs: (query) =>
      call(
        "listAuthConfigs",
        () =>
          client.authConfigs.list({
            toolkit_slug: query.toolkitSlug,
            is_composio_managed: query.isComposioManaged,
            show_disabled: query.showDisabled,
            search: query.search,
            limit: query.limit,
            cursor: query.cursor,
          }),
        (body) => page(body, "auth config list", toAuthConfig),
      ),

    getAuthConfig: (id) => call("getAuthConfig", () => client.authConfigs.retrieve(id), toAuthConfig),

    async createAuthConfig(input) {
      const authConfig = input.managed
        ? { type: "use_composio_managed_auth" as const, ...(input.name ? { name: input.name } : {}) }
        : {
            type: "use_custom_auth" as const,
            name: input.name,
            authScheme: input.authScheme as "OAUTH2",
            credentials: input.credentials as { scopes?: string[] },
          };
      const created = await call(
        "createAuthConfig",
        () => client.authConfigs.create({ toolkit: { slug: input.toolkitSlug }, auth_config: authConfig }),
        (body) => {
          const c = obj(obj(body, "create auth config response").auth_config, "auth_config");
          return { id: str(c.id, "auth_config.id"), authScheme: optStr(c.auth_scheme), isComposioManaged: c.is_composio_managed === true };
        },
      );
      // The create response is partial: read the whole config back, or fall back to what we know.
      try {
        return await port.getAuthConfig(created.id);
      } catch {
        return {
          ...created,
          name: input.name ?? "",
          toolkitSlug: input.toolkitSlug,
          status: "ENABLED",
          connectionCount: 0,
          createdAt: null,
        };
      }
    },

    async updateAuthConfig(id, patch) {
      // Composio's PATCH body is typed by the config's kind: credentials only exist on custom configs.
      const type = patch.credentials ? "custom" : (await port.getAuthConfig(id)).isComposioManaged ? "default" : "custom";
      const body =
        type === "custom"
          ? {
              type: "custom" as const,
              ...(patch.name ? { name: patch.name } : {}),
              ...(patch.credentials ? { credentials: patch.credentials } : {}),
            }
          : { type: "default" as const, ...(patch.name ? { name: patch.name } : {}) };
      await call(
        "updateAuthConfig",
        () => client.authConfigs.update(id, body),
        () => undefined,
      );
    },

    setAuthConfigEnabled: (id, enabled) =>
      call(
        "setAuthConfigEnabled",
        () => client.authConfigs.updateStatus(enabled ? "ENABLED" : "DISABLED", { nanoid: id }),
        () => undefined,
      ),

    deleteAuthConfig: (id) =>
      call(
        "deleteAuthConfig",
        () => client.authConfigs.delete(id),
        () => undefined,
      ),

    createConnectLink: (input) =>
      call(
        "createConnectLink",
        () =>
          client.link.create({
            auth_config_id: input.authConfigId,
            user_id: input.userId,
            ...(input.callbackUrl ? { callback_url: input.callbackUrl } : {}),
          }),
        (body) => {
          const b = obj(body, "link response");
          return {
            connectedAccountId: str(b.connected_account_id, "connected_account_id"),
            redirectUrl: str(b.redirect_url, "redirect_url"),
            expiresAt: optStr(b.expires_at),
          };
        },
      ),

    createConnectedAccount: (input) =>
      call(
        "createConnectedAccount",
        () =>
          client.connectedAccounts.create({
            auth_config: { id: input.authConfigId },
            connection: {
              user_id: input.userId,
              ...(input.callbackUrl ? { callback_url: input.callbackUrl } : {}),
              ...(input.data ? { data: input.data } : {}),
            },
          }),
        (body) => {
          const b = obj(body, "create connected account response");
          return { connectedAccountId: str(b.id, "id"), status: status(b.status), redirectUrl: optStr(b.redirect_url) };
        },
      ),

    getConnectedAccount: (id) => call("getConnectedAccount", () => client.connectedAccounts.retrieve(id), toConnectedAccount),

    listConnectedAccounts: (query) =>
      call(
        "listConnectedAccounts",
        () =>
          client.connectedAccounts.list({
            user_ids: query.userIds,
            toolkit_slugs: query.toolkitSlugs,
            statuses: query.statuses as Array<ComposioConnectedAccount["status"]> | undefined,
            limit: query.limit,
            cursor: query.cursor,
          }),
        (body) => page(body, "connected account list", toConnectedAccount),
      ),

    revokeConnectedAccount: (id) =>
      call(
        "revokeConnectedAccount",
        () => client.connectedAccounts.revoke(id),
        () => undefined,
      ),

    deleteConnectedAccount: (id) =>
      call(
        "deleteConnectedAccount",
        () => client.connectedAccounts.delete(id),
        () => undefined,
      ),

    refreshConnectedAccount: (id, input) =>
      call(
        "refreshConnectedAccount",
        () => client.connectedAccounts.refresh(id, input.callbackUrl ? { body_redirect_url: input.callbackUrl } : {}),
        (body) => {
          const b = obj(body, "refresh response");
          return { status: status(b.status), redirectUrl: optStr(b.redirect_url) };
        },
      ),

    setConnectedAccountEnabled: (id, enabled) =>
      call(
        "setConnectedAccountEnabled",
        () => client.connectedAccounts.updateStatus(id, { enabled }),
        () => undefined,
      ),

    listToolkits: (query) =>
      call(
        "listToolkits",
        () => client.toolkits.list({ search: query.search, category: query.category, limit: query.limit, cursor: query.cursor }),
        (body) => page(body, "toolkit list", toToolkit),
      ),

    getToolkit: (slug) => call("getToolkit", () => client.toolkits.retrieve(slug), toToolkit),

    listTools: (query) =>
      call(
        "listTools",
        () => client.tools.list({ toolkit_slug: query.toolkitSlug, search: query.search, limit: query.limit, cursor: query.cursor }),
        (body) => page(body, "tool list", toTool),
      ),

    getTool: (slug) => call("getTool", () => client.tools.retrieve(slug), toTool),

    executeTool: (input) =>
      call(
        "executeTool",
        () =>
          postExecute(input.toolSlug, {
            arguments: input.arguments,
            ...(input.connectedAccountId ? { connected_account_id: input.connectedAccountId } : {}),
            ...(input.userId ? { user_id: input.userId } : {}),
            ...(input.version ? { version: input.version } : {}),
          }),
        (body) => {
          const b = obj(body, "execute response");
          if (typeof b.successful !== "boolean") throw new MalformedResponse("execute response has no boolean successful");
          return {
            data: b.data ?? null,
            error: optStr(b.error),
            successful: b.successful,
            logId: optStr(b.log_id),
          };
        },
      ),

    listTriggerTypes: (query) =>
      call(
        "listTriggerTypes",
        () => client.triggersTypes.list({ toolkit_slugs: query.toolkitSlugs, limit: query.limit, cursor: query.cursor }),
        (body) => page(body, "trigger type list", toTriggerType),
      ),

    getTriggerType: (slug) => call("getTriggerType", () => client.triggersTypes.retrieve(slug), toTriggerType),

    upsertTriggerInstance: (slug, input) =>
      call(
        "upsertTriggerInstance",
        () => client.triggerInstances.upsert(slug, { connected_account_id: input.connectedAccountId, trigger_config: input.config }),
        (body) => ({ triggerId: str(obj(body, "upsert trigger response").trigger_id, "trigger_id") }),
      ),

    setTriggerInstanceEnabled: (triggerId, enabled) =>
      call(
        "setTriggerInstanceEnabled",
        () => client.triggerInstances.manage.update(triggerId, { status: enabled ? "enable" : "disable" }),
        () => undefined,
      ),

    deleteTriggerInstance: (triggerId) =>
      call(
        "deleteTriggerInstance",
        () => client.triggerInstances.manage.delete(triggerId),
        () => undefined,
      ),

    listTriggerInstances: (query) =>
      call(
        "listTriggerInstances",
        () =>
          client.triggerInstances.listActive({
            connected_account_ids: query.connectedAccountIds,
            trigger_ids: query.triggerIds,
            show_disabled: query.showDisabled,
            limit: query.limit,
            cursor: query.cursor,
          }),
        (body) => page(body, "trigger instance list", toTriggerInstance),
      ),
  };
  return port;
}
