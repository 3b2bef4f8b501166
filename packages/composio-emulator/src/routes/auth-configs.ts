import type { FastifyInstance } from "fastify";
import { findToolkit } from "../catalogue.js";
import type { RouteContext } from "../context.js";
import { EmulatorApiError, ERRORS } from "../errors.js";
import { boolParam, paginate, scalarParam } from "../pagination.js";
import { authConfigOut } from "../serialize.js";
import { type AuthConfigRecord, nanoid } from "../state.js";

type Body = Record<string, unknown>;
type Query = Record<string, unknown>;

function asObject(value: unknown, what: string): Body {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new EmulatorApiError(ERRORS.BAD_REQUEST, `${what} must be an object`);
  return value as Body;
}

function scopesOf(credentials: Body | undefined): string[] {
  const raw = credentials?.scopes;
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === "string" && raw !== "") return raw.split(",").map((s) => s.trim());
  return [];
}

export async function authConfigRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { state } = ctx;

  function getConfig(id: string): AuthConfigRecord {
    const config = state.authConfigs.get(id);
    if (!config) throw new EmulatorApiError(ERRORS.AUTH_CONFIG_NOT_FOUND, `Auth config ${id} not found`);
    return config;
  }

  app.get("/auth_configs", async (request) => {
    const q = request.query as Query;
    const toolkitSlug = scalarParam(q.toolkit_slug)?.toLowerCase();
    const managed = boolParam(q.is_composio_managed);
    const showDisabled = boolParam(q.show_disabled) ?? false;
    const search = scalarParam(q.search)?.toLowerCase();
    const all = [...state.authConfigs.values()]
      .filter((c) => (toolkitSlug ? c.toolkitSlug === toolkitSlug : true))
      .filter((c) => (managed === undefined ? true : c.isComposioManaged === managed))
      .filter((c) => showDisabled || c.status === "ENABLED")
      .filter((c) => (search ? c.name.toLowerCase().includes(search) : true))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const page = paginate(all, q);
    return { ...page, items: page.items.map((c) => authConfigOut(state, c)) };
  });

  app.post("/auth_configs", async (request, reply) => {
    const body = asObject(request.body, "body");
    const toolkitSlug = String(asObject(body.toolkit, "toolkit").slug ?? "").toLowerCase();
    const toolkit = findToolkit(toolkitSlug);
    if (!toolkit) throw new EmulatorApiError(ERRORS.TOOLKIT_NOT_FOUND, `Toolkit ${toolkitSlug} not found`);
    const spec = body.auth_config === undefined ? { type: "use_composio_managed_auth" } : asObject(body.auth_config, "auth_config");
    const now = state.nowIso();
    let record: AuthConfigRecord;
    if (spec.type === "use_composio_managed_auth") {
      const scheme = toolkit.composioManagedAuthSchemes[0];
      if (!scheme) throw new EmulatorApiError(ERRORS.BAD_REQUEST, `Composio does not manage auth for ${toolkit.slug}; use custom auth`);
      record = {
        id: nanoid("ac"),
        uuid: state.newUuid(),
        toolkitSlug: toolkit.slug,
        name: typeof spec.name === "string" && spec.name !== "" ? spec.name : `${toolkit.name} Auth Config`,
        authScheme: scheme,
        isComposioManaged: true,
        status: "ENABLED",
        credentials: {},
        scopes: scopesOf(spec.credentials as Body | undefined),
        createdAt: now,
        updatedAt: now,
      };
    } else if (spec.type === "use_custom_auth") {
      const scheme = String(spec.authScheme ?? "");
      if (!toolkit.authSchemes.includes(scheme)) {
        throw new EmulatorApiError(ERRORS.BAD_REQUEST, `Auth scheme ${scheme || "(missing)"} is not supported by ${toolkit.slug}`);
      }
      const credentials = spec.credentials === undefined ? {} : asObject(spec.credentials, "credentials");
      if (scheme === "OAUTH2" && (typeof credentials.client_id !== "string" || typeof credentials.client_secret !== "string")) {
        throw new EmulatorApiError(ERRORS.BAD_REQUEST, "OAUTH2 custom auth requires credentials.client_id and credentials.client_secret");
      }
      record = {
        id: nanoid("ac"),
        uuid: state.newUuid(),
        toolkitSlug: toolkit.slug,
        name: typeof spec.name === "string" && spec.name !== "" ? spec.name : `${toolkit.name} ${scheme}`,
        authScheme: scheme,
        isComposioManaged: false,
        status: "ENABLED",
        credentials,
        scopes: scopesOf(credentials),
        createdAt: now,
        updatedAt: now,
      };
    } else {
      throw new EmulatorApiError(ERRORS.BAD_REQUEST, "auth_config.type must be use_composio_managed_auth or use_custom_auth");
    }
    state.authConfigs.set(record.id, record);
    return reply.code(201).send({
      toolkit: { slug: record.toolkitSlug },
      auth_config: {
        id: record.id,
        auth_scheme: record.authScheme,
        is_composio_managed: record.isComposioManaged,
        restrict_to_following_tools: [],
      },
    });
  });

  app.get<{ Params: { nanoid: string } }>("/auth_configs/:nanoid", async (request) =>
    authConfigOut(state, getConfig(request.params.nanoid)),
  );

  app.patch<{ Params: { nanoid: string } }>("/auth_configs/:nanoid", async (request) => {
    const config = getConfig(request.params.nanoid);
    const body = asObject(request.body, "body");
    if (body.type !== "custom" && body.type !== "default") throw new EmulatorApiError(ERRORS.BAD_REQUEST, "type must be custom or default");
    if (typeof body.name === "string" && body.name !== "") config.name = body.name;
    if (body.type === "custom") {
      if (config.isComposioManaged)
        throw new EmulatorApiError(ERRORS.BAD_REQUEST, "A Composio-managed auth config cannot take custom credentials");
      if (body.credentials !== undefined) {
        const credentials = asObject(body.credentials, "credentials");
        config.credentials = { ...config.credentials, ...credentials };
        if (credentials.scopes !== undefined) config.scopes = scopesOf(credentials);
      }
    } else if (body.scopes !== undefined) {
      config.scopes = scopesOf({ scopes: body.scopes });
    }
    config.updatedAt = state.nowIso();
    return {};
  });

  app.delete<{ Params: { nanoid: string } }>("/auth_configs/:nanoid", async (request) => {
    const config = getConfig(request.params.nanoid);
    state.authConfigs.delete(config.id);
    return {};
  });

  app.patch<{ Params: { nanoid: string; status: string } }>("/auth_configs/:nanoid/:status", async (request) => {
    const config = getConfig(request.params.nanoid);
    const status = request.params.status;
    if (status !== "ENABLED" && status !== "DISABLED") throw new EmulatorApiError(ERRORS.BAD_REQUEST, "status must be ENABLED or DISABLED");
    config.status = status;
    config.updatedAt = state.nowIso();
    return {};
  });
}
