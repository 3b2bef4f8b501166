import {
  type CatalogueTool,
  type CatalogueToolkit,
  LATEST_TOOL_VERSION,
  TOOL_VERSIONS,
  TOOLKIT_VERSION,
  TOOLS,
  toolkitLogo,
  V3_DEFAULT_TOOL_VERSION,
} from "./catalogue.js";
import type { AccountStatus, AuthConfigRecord, ConnectedAccountRecord, EmulatorState } from "./state.js";

export type ApiVersion = "v3" | "v3.1";

const SECRET_KEY = /secret|token|password|private_key|api_key|apikey/i;

/** Credentials as Composio shows them: secrets never echoed. */
function publicCredentials(credentials: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(credentials).filter(([k]) => !SECRET_KEY.test(k)));
}

/** For the request log: same keys, secret values replaced. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_KEY.test(k) && typeof v === "string" ? "[redacted]" : redactSecrets(v),
      ]),
    );
  }
  return value;
}

export function authConfigOut(state: EmulatorState, c: AuthConfigRecord) {
  return {
    id: c.id,
    uuid: c.uuid,
    type: c.isComposioManaged ? "default" : "custom",
    toolkit: { slug: c.toolkitSlug, logo: toolkitLogo(c.toolkitSlug) },
    name: c.name,
    auth_scheme: c.authScheme,
    is_composio_managed: c.isComposioManaged,
    credentials: c.isComposioManaged ? { scopes: c.scopes } : { ...publicCredentials(c.credentials), scopes: c.scopes },
    status: c.status,
    created_by: "emulator",
    created_at: c.createdAt,
    last_updated_at: c.updatedAt,
    no_of_connections: state.connectionCount(c.id),
    expected_input_fields: [],
    restrict_to_following_tools: [],
    tool_access_config: { tools_for_connected_account_creation: [], tools_available_for_execution: [] },
  };
}

/** REVOKED exists on v3.1 only; on v3 a revoked account shows as INACTIVE. */
function statusFor(version: ApiVersion, status: AccountStatus): AccountStatus {
  return version === "v3" && status === "REVOKED" ? "INACTIVE" : status;
}

const MASKED = "****";

/** The `state.val` / `connectionData.val` Composio returns for a scheme and status, credentials masked. */
export function connectionVal(authScheme: string, status: AccountStatus, redirectUrl: string | null): Record<string, unknown> {
  const val: Record<string, unknown> = { status };
  const hasCredentials = status === "ACTIVE" || status === "INACTIVE";
  if (authScheme === "OAUTH2") {
    if (status === "INITIATED") val.redirectUrl = redirectUrl ?? "";
    if (hasCredentials) Object.assign(val, { access_token: MASKED, token_type: "bearer", refresh_token: MASKED });
  } else if (authScheme === "OAUTH1") {
    if (status === "INITIATED")
      Object.assign(val, { oauth_token: MASKED, oauth_token_secret: MASKED, authUri: redirectUrl ?? "", redirectUrl: redirectUrl ?? "" });
    if (hasCredentials) Object.assign(val, { oauth_token: MASKED, oauth_token_secret: MASKED });
  } else if (authScheme === "BEARER_TOKEN") {
    if (hasCredentials) val.token = MASKED;
  } else if (authScheme === "BASIC") {
    if (hasCredentials) val.username = MASKED;
  } else if (authScheme === "API_KEY") {
    if (hasCredentials) val.generic_api_key = MASKED;
  }
  return val;
}

export function connectedAccountOut(state: EmulatorState, a: ConnectedAccountRecord, version: ApiVersion) {
  const config = state.authConfigs.get(a.authConfigId);
  const authScheme = config?.authScheme ?? "OAUTH2";
  const status = statusFor(version, a.status);
  const val = connectionVal(authScheme, status, a.redirectUrl);
  return {
    toolkit: { slug: a.toolkitSlug },
    auth_config: {
      id: a.authConfigId,
      auth_scheme: authScheme,
      is_composio_managed: config?.isComposioManaged ?? false,
      is_disabled: config ? config.status === "DISABLED" : true,
    },
    id: a.id,
    user_id: a.userId,
    status,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
    state: { authScheme, val },
    data: { ...a.data, ...val },
    params: { ...a.data, ...val },
    status_reason: a.statusReason,
    is_disabled: a.isDisabled,
    deprecated: { labels: [], uuid: a.uuid },
  };
}

export function toolkitOut(t: CatalogueToolkit, detail: boolean) {
  const meta = {
    created_at: "2024-01-01T00:00:00.000Z",
    updated_at: "2026-11-01T00:00:00.000Z",
    description: t.description,
    logo: toolkitLogo(t.slug),
    app_url: t.appUrl,
    categories: t.categories,
    triggers_count: 0,
    tools_count: TOOLS.filter((tool) => tool.toolkitSlug === t.slug).length,
    version: TOOLKIT_VERSION,
  };
  const common = {
    slug: t.slug,
    name: t.name,
    auth_schemes: t.authSchemes,
    composio_managed_auth_schemes: t.composioManagedAuthSchemes,
    is_local_toolkit: false,
    no_auth: t.authSchemes.length === 0,
  };
  if (!detail) return { ...common, deprecated: { toolkitId: t.slug }, meta };
  return {
    ...common,
    enabled: true,
    meta: { ...meta, categories: t.categories.map((c) => ({ name: c.name, slug: c.id })), available_versions: [TOOLKIT_VERSION] },
    auth_config_details: t.authSchemes.map((scheme) => ({
      mode: scheme,
      name: `${t.name} ${scheme}`,
      fields: {
        auth_config_creation: {
          required: scheme === "OAUTH2" ? [field("client_id", "Client id"), field("client_secret", "Client secret")] : [],
          optional: scheme === "OAUTH2" ? [field("scopes", "Scopes", false)] : [],
        },
        connected_account_initiation: {
          required:
            scheme === "API_KEY" ? [field("generic_api_key", "API key")] : scheme === "BEARER_TOKEN" ? [field("token", "Token")] : [],
          optional: [],
        },
      },
    })),
    base_url: t.appUrl,
    deprecated: { toolkitId: t.slug, rawProxyInfoByAuthSchemes: [] },
  };
}

function field(name: string, displayName: string, required = true) {
  return { name, displayName, type: "string", description: displayName, required, default: null };
}

export function toolOut(tool: CatalogueTool, version: ApiVersion, requestedVersion?: string) {
  const toolkit = { slug: tool.toolkitSlug, name: tool.toolkitSlug, logo: toolkitLogo(tool.toolkitSlug) };
  const resolved =
    requestedVersion && requestedVersion !== "latest" ? requestedVersion : version === "v3" ? V3_DEFAULT_TOOL_VERSION : LATEST_TOOL_VERSION;
  return {
    slug: tool.slug,
    name: tool.name,
    description: tool.description,
    toolkit,
    input_parameters: tool.inputParameters,
    output_parameters: {
      type: "object",
      properties: { data: { type: "object" }, error: { type: "string", nullable: true }, successful: { type: "boolean" } },
      required: ["data", "successful"],
    },
    no_auth: false,
    available_versions: TOOL_VERSIONS,
    version: resolved,
    scopes: tool.scopes,
    tags: tool.tags,
    is_deprecated: false,
    deprecated: {
      displayName: tool.name,
      version: resolved,
      available_versions: TOOL_VERSIONS,
      is_deprecated: false,
      toolkit: { logo: toolkit.logo },
    },
  };
}
