import type { FastifyInstance } from "fastify";
import { findToolkit, schemaProblems, toolkitLogo } from "../catalogue.js";
import type { RouteContext } from "../context.js";
import { EmulatorApiError, ERRORS } from "../errors.js";
import { arrayParam, boolParam, paginate, scalarParam } from "../pagination.js";
import type { EmulatorState, TriggerInstanceRecord } from "../state.js";
import { type CatalogueTriggerType, findTriggerType, TRIGGER_TYPE_VERSION, TRIGGER_TYPES } from "../trigger-types.js";

type Query = Record<string, unknown>;
type Body = Record<string, unknown>;

export function triggerTypeOut(t: CatalogueTriggerType) {
  return {
    slug: t.slug,
    name: t.name,
    description: t.description,
    instructions: t.instructions,
    type: t.type,
    toolkit: { slug: t.toolkitSlug, name: findToolkit(t.toolkitSlug)?.name ?? t.toolkitSlug, logo: toolkitLogo(t.toolkitSlug) },
    config: t.config,
    payload: t.payload,
    version: TRIGGER_TYPE_VERSION,
  };
}

/** An instance as `GET /trigger_instances/active` lists it (with the deprecated camelCase twins Composio still sends). */
export function triggerInstanceOut(state: EmulatorState, i: TriggerInstanceRecord) {
  const account = state.accounts.get(i.connectedAccountId);
  return {
    uuid: i.uuid,
    id: i.id,
    connected_account_id: i.connectedAccountId,
    trigger_name: i.slug,
    connected_account_uuid: account?.uuid ?? "",
    user_id: account?.userId ?? "",
    trigger_data: "",
    trigger_config: i.config,
    state: {},
    updated_at: i.updatedAt,
    disabled_at: i.disabledAt,
    disabledAt: i.disabledAt,
    connectedAccountId: i.connectedAccountId,
    triggerName: i.slug,
    updatedAt: i.updatedAt,
    triggerConfig: i.config,
    deprecated: { createdAt: i.createdAt },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Trigger types (the catalogue) and trigger instances (per connected account). */
export async function triggerRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { state } = ctx;

  const instanceOf = (id: string) => {
    const instance = state.triggerInstances.get(id);
    if (!instance) throw new EmulatorApiError(ERRORS.TRIGGER_INSTANCE_NOT_FOUND, `Trigger instance ${id} not found`);
    return instance;
  };

  app.get("/triggers_types", async (request) => {
    const q = request.query as Query;
    const toolkits = arrayParam(q.toolkit_slugs)?.map((s) => s.toLowerCase());
    const all = TRIGGER_TYPES.filter((t) => !toolkits || toolkits.includes(t.toolkitSlug));
    const page = paginate(all, q);
    return { ...page, items: page.items.map(triggerTypeOut) };
  });

  app.get("/triggers_types/list/enum", async () => TRIGGER_TYPES.map((t) => t.slug));

  app.get<{ Params: { slug: string } }>("/triggers_types/:slug", async (request) => {
    const type = findTriggerType(request.params.slug);
    if (!type) throw new EmulatorApiError(ERRORS.TRIGGER_TYPE_NOT_FOUND, `Trigger type ${request.params.slug} not found`);
    return triggerTypeOut(type);
  });

  app.post<{ Params: { slug: string } }>("/trigger_instances/:slug/upsert", async (request) => {
    const type = findTriggerType(request.params.slug);
    if (!type) throw new EmulatorApiError(ERRORS.TRIGGER_TYPE_NOT_FOUND, `Trigger type ${request.params.slug} not found`);
    const body = (request.body ?? {}) as Body;
    if (!isObject(body)) throw new EmulatorApiError(ERRORS.BAD_REQUEST, "body must be an object");
    const accountId = body.connected_account_id ?? body.connectedAuthId;
    if (typeof accountId !== "string" || accountId === "")
      throw new EmulatorApiError(ERRORS.BAD_REQUEST, "connected_account_id is required");
    const config = body.trigger_config ?? body.triggerConfig ?? {};
    if (!isObject(config)) throw new EmulatorApiError(ERRORS.BAD_REQUEST, "trigger_config must be an object");
    const account = state.accounts.get(accountId);
    if (!account) throw new EmulatorApiError(ERRORS.CONNECTED_ACCOUNT_NOT_FOUND, `No connected account found with id ${accountId}`);
    if (account.toolkitSlug !== type.toolkitSlug) {
      throw new EmulatorApiError(
        ERRORS.BAD_REQUEST,
        `Connected account ${account.id} belongs to ${account.toolkitSlug}, not ${type.toolkitSlug}`,
      );
    }
    if (account.status !== "ACTIVE") {
      throw new EmulatorApiError(ERRORS.CONNECTED_ACCOUNT_NOT_USABLE, `Connected account ${account.id} is ${account.status}, not ACTIVE`);
    }
    const problems = schemaProblems(type.config, config);
    if (problems.length > 0) throw new EmulatorApiError(ERRORS.TRIGGER_INVALID_CONFIG, `Invalid trigger config: ${problems.join("; ")}`);
    const instance = state.upsertTriggerInstance(account, type.slug, config);
    return { trigger_id: instance.id, deprecated: { uuid: instance.uuid } };
  });

  app.get("/trigger_instances/active", async (request) => {
    const q = request.query as Query;
    const accounts = arrayParam(q.connected_account_ids ?? q.connectedAccountIds);
    const authConfigs = arrayParam(q.auth_config_ids ?? q.authConfigIds);
    const ids = arrayParam(q.trigger_ids ?? q.triggerIds);
    const names = arrayParam(q.trigger_names ?? q.triggerNames)?.map((n) => n.toUpperCase());
    const showDisabled = boolParam(q.show_disabled ?? q.showDisabled) ?? false;
    const all = [...state.triggerInstances.values()]
      .filter((i) => showDisabled || i.disabledAt === null)
      .filter((i) => !accounts || accounts.includes(i.connectedAccountId))
      .filter((i) => !authConfigs || authConfigs.includes(state.accounts.get(i.connectedAccountId)?.authConfigId ?? ""))
      .filter((i) => !ids || ids.includes(i.id))
      .filter((i) => !names || names.includes(i.slug))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    const page = paginate(all, { limit: scalarParam(q.limit), cursor: scalarParam(q.cursor) });
    return { ...page, items: page.items.map((i) => triggerInstanceOut(state, i)) };
  });

  app.patch<{ Params: { triggerId: string } }>("/trigger_instances/manage/:triggerId", async (request) => {
    const instance = instanceOf(request.params.triggerId);
    const body = (request.body ?? {}) as Body;
    if (!isObject(body) || (body.status !== "enable" && body.status !== "disable")) {
      throw new EmulatorApiError(ERRORS.BAD_REQUEST, 'status must be "enable" or "disable"');
    }
    const disable = body.status === "disable";
    if (disable !== (instance.disabledAt !== null)) {
      instance.disabledAt = disable ? state.nowIso() : null;
      instance.updatedAt = state.nowIso();
    }
    return { status: "success" };
  });

  app.delete<{ Params: { triggerId: string } }>("/trigger_instances/manage/:triggerId", async (request) => {
    const instance = instanceOf(request.params.triggerId);
    state.deleteTriggerInstance(instance);
    return { trigger_id: instance.id };
  });
}
