import type { FastifyInstance } from "fastify";
import { FAULT_KINDS, type FaultRegistry, type FaultSpec, pathMatches } from "./faults.js";
import type { RateLimiter } from "./rate-limit.js";
import { connectedAccountOut } from "./serialize.js";
import { ACCOUNT_STATUSES, type AccountStatus, type ConnectedAccountRecord, type EmulatorState, nanoid } from "./state.js";
import { EMULATOR_ORG_ID, EMULATOR_PROJECT_ID, WEBHOOK_EVENT_TYPES, type WebhookDispatcher, type WebhookEvent } from "./webhooks.js";

export const CONTROL_PREFIX = "/_emulator";

function bad(message: string) {
  return { error: { message } };
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

export interface ControlDeps {
  state: EmulatorState;
  faults: FaultRegistry;
  webhooks: WebhookDispatcher;
  rateLimit: RateLimiter;
  /** The limit given at start-up: /reset goes back to it. */
  initialRateLimit: number | null;
}

/**
 * The test-only control API under /_emulator (no API key):
 *   GET    /_emulator/health                         -> { status: "ok" } (the run command waits for it)
 *   POST   /_emulator/reset                          -> 204; forgets every auth config, account, link, fault, log entry
 *   GET    /_emulator/faults                         -> { items: Fault[] }
 *   POST   /_emulator/faults  FaultSpec              -> 201 Fault
 *   DELETE /_emulator/faults                         -> 204 (also releases hanging requests)
 *   DELETE /_emulator/faults/:id                     -> 204 | 404
 *   GET    /_emulator/requests?method=&route=        -> { items: RequestLogEntry[] } (route: a fault-style path pattern)
 *   DELETE /_emulator/requests                       -> 204
 *   GET    /_emulator/executions?tool_slug=          -> { items: ExecutionRecord[] } (tool runs that reached a tool)
 *   PUT    /_emulator/connected_accounts/:id/status  { status, status_reason? } -> 200 connected account (v3.1 shape)
 *                                                        (to EXPIRED: also sends composio.connected_account.expired)
 *   POST   /_emulator/clock  { advance_seconds }     -> { now } (moves the emulator's clock forward, e.g. to expire links)
 *
 * Webhooks (delivered in the background to the `webhook` URL, signed, retried; see webhooks.ts):
 *   GET    /_emulator/webhooks?id=&type=             -> { configured, url, pending, events: WebhookEvent[], items: WebhookAttempt[] }
 *   POST   /_emulator/triggers/fire  { connected_account_id, trigger_slug, payload? }
 *                                                    -> 202 { id, type, delivering, event } (composio.trigger.message)
 *   POST   /_emulator/triggers/disable  { connected_account_id, trigger_name, reason? }
 *                                                    -> 202 { id, type, delivering, event } (composio.trigger.disabled;
 *                                                       the account's instance of that trigger, if any, is disabled)
 *   GET    /_emulator/trigger_instances              -> { items: TriggerInstanceRecord[] } (made with the upsert API)
 *   POST   /_emulator/trigger_instances/:id/fire  { payload? }
 *                                                    -> 202 { id, type, delivering, event } (composio.trigger.message of
 *                                                       that instance) | 404 unknown | 409 disabled
 *   POST   /_emulator/webhooks/redeliver  { id }     -> 202 { id, type, delivery, delivering } | 404 (same id and body)
 *
 * Rate limit (API routes only; control and link routes are never counted):
 *   GET    /_emulator/rate-limit                     -> { per_minute, answered_429, requests_in_window, max_in_any_window }
 *   PUT    /_emulator/rate-limit  { per_minute: positive integer | null } -> the same (counts are kept)
 *
 * /reset also forgets webhook events and attempts (stopping retries under way), zeroes the rate-limit counts and
 * puts the limit back to its start-up value.
 */
export async function controlRoutes(app: FastifyInstance, deps: ControlDeps): Promise<void> {
  const { state, faults, webhooks, rateLimit } = deps;

  app.get("/health", async () => ({ status: "ok", service: "composio-emulator" }));

  app.post("/reset", async (_request, reply) => {
    state.reset();
    faults.clear();
    webhooks.reset();
    rateLimit.reset(deps.initialRateLimit);
    return reply.code(204).send();
  });

  app.get("/faults", async () => ({ items: faults.list() }));

  app.post("/faults", async (request, reply) => {
    const body = (request.body ?? {}) as Partial<FaultSpec>;
    if (!body.kind || !FAULT_KINDS.includes(body.kind)) return reply.code(400).send(bad(`kind must be one of ${FAULT_KINDS.join(", ")}`));
    for (const key of ["times", "ms", "status", "retryAfterSeconds"] as const) {
      const v = body[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 0)) return reply.code(400).send(bad(`${key} must be a non-negative integer`));
    }
    if (body.times === 0) return reply.code(400).send(bad("times must be at least 1 (omit it for 'until cleared')"));
    const spec: FaultSpec = { kind: body.kind };
    if (body.method) spec.method = body.method.toUpperCase();
    if (body.path) spec.path = body.path;
    for (const key of ["times", "ms", "status", "retryAfterSeconds"] as const) if (body[key] !== undefined) spec[key] = body[key];
    return reply.code(201).send(faults.add(spec));
  });

  app.delete("/faults", async (_request, reply) => {
    faults.clear();
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>("/faults/:id", async (request, reply) => {
    if (!faults.remove(request.params.id)) return reply.code(404).send(bad("No such fault"));
    return reply.code(204).send();
  });

  app.get<{ Querystring: { method?: string; route?: string } }>("/requests", async (request) => {
    const { method, route } = request.query;
    const items = state.requests
      .filter((r) => !method || r.method === method.toUpperCase())
      .filter((r) => !route || pathMatches(route, r.route));
    return { items };
  });

  app.delete("/requests", async (_request, reply) => {
    state.requests = [];
    return reply.code(204).send();
  });

  app.get<{ Querystring: { tool_slug?: string } }>("/executions", async (request) => {
    const slug = request.query.tool_slug?.toUpperCase();
    return { items: state.executions.filter((e) => !slug || e.toolSlug === slug) };
  });

  app.put<{ Params: { id: string } }>("/connected_accounts/:id/status", async (request, reply) => {
    const account = state.accounts.get(request.params.id);
    if (!account) return reply.code(404).send(bad("No such connected account"));
    const body = (request.body ?? {}) as { status?: string; status_reason?: string | null };
    if (!body.status || !ACCOUNT_STATUSES.includes(body.status as AccountStatus)) {
      return reply.code(400).send(bad(`status must be one of ${ACCOUNT_STATUSES.join(", ")}`));
    }
    state.setAccountStatus(account, body.status as AccountStatus, body.status_reason ?? null);
    return connectedAccountOut(state, account, "v3.1");
  });

  app.post("/clock", async (request, reply) => {
    const body = (request.body ?? {}) as { advance_seconds?: number };
    if (typeof body.advance_seconds !== "number" || body.advance_seconds < 0)
      return reply.code(400).send(bad("advance_seconds must be a non-negative number"));
    state.clockOffsetMs += body.advance_seconds * 1000;
    return { now: state.nowIso() };
  });

  /** Composio's `composio.trigger.message` for the account's trigger `slug`, signed and delivered in the background. */
  const fireTrigger = (account: ConnectedAccountRecord, slug: string, payload: unknown) =>
    webhooks.emit(
      WEBHOOK_EVENT_TYPES.triggerMessage,
      {
        log_id: nanoid("log"),
        trigger_slug: slug,
        trigger_id: state.triggerId(account.id, slug),
        connected_account_id: account.id,
        auth_config_id: account.authConfigId,
        user_id: account.userId,
      },
      payload,
      state.nowIso(),
    );

  const accepted = (event: WebhookEvent) => ({ id: event.id, type: event.type, delivering: webhooks.configured, event });

  app.get<{ Querystring: { id?: string; type?: string } }>("/webhooks", async (request) => {
    const { id, type } = request.query;
    return {
      configured: webhooks.configured,
      url: webhooks.url,
      pending: webhooks.pending,
      events: webhooks.listEvents().filter((e) => (!id || e.id === id) && (!type || e.type === type)),
      items: webhooks.listAttempts({ ...(id ? { id } : {}), ...(type ? { type } : {}) }),
    };
  });

  app.post("/webhooks/redeliver", async (request, reply) => {
    const body = (request.body ?? {}) as { id?: unknown };
    if (!nonEmptyString(body.id)) return reply.code(400).send(bad("id is required"));
    const result = webhooks.redeliver(body.id);
    if (!result) return reply.code(404).send(bad("No such webhook event"));
    return reply
      .code(202)
      .send({ id: result.event.id, type: result.event.type, delivery: result.delivery, delivering: webhooks.configured });
  });

  app.post("/triggers/fire", async (request, reply) => {
    const body = (request.body ?? {}) as { connected_account_id?: unknown; trigger_slug?: unknown; payload?: unknown };
    if (!nonEmptyString(body.connected_account_id)) return reply.code(400).send(bad("connected_account_id is required"));
    if (!nonEmptyString(body.trigger_slug)) return reply.code(400).send(bad("trigger_slug is required"));
    const payload = body.payload ?? {};
    if (typeof payload !== "object" || payload === null || Array.isArray(payload))
      return reply.code(400).send(bad("payload must be an object"));
    const account = state.accounts.get(body.connected_account_id);
    if (!account) return reply.code(404).send(bad("No such connected account"));
    return reply.code(202).send(accepted(fireTrigger(account, body.trigger_slug, payload)));
  });

  app.get("/trigger_instances", async () => ({ items: [...state.triggerInstances.values()] }));

  app.post<{ Params: { id: string } }>("/trigger_instances/:id/fire", async (request, reply) => {
    const instance = state.triggerInstances.get(request.params.id);
    if (!instance) return reply.code(404).send(bad("No such trigger instance"));
    if (instance.disabledAt !== null) return reply.code(409).send(bad("The trigger instance is disabled"));
    const account = state.accounts.get(instance.connectedAccountId);
    if (!account) return reply.code(404).send(bad("The instance's connected account is gone"));
    const payload = ((request.body ?? {}) as { payload?: unknown }).payload ?? {};
    if (typeof payload !== "object" || payload === null || Array.isArray(payload))
      return reply.code(400).send(bad("payload must be an object"));
    return reply.code(202).send(accepted(fireTrigger(account, instance.slug, payload)));
  });

  app.post("/triggers/disable", async (request, reply) => {
    const body = (request.body ?? {}) as { connected_account_id?: unknown; trigger_name?: unknown; reason?: unknown };
    if (!nonEmptyString(body.connected_account_id)) return reply.code(400).send(bad("connected_account_id is required"));
    if (!nonEmptyString(body.trigger_name)) return reply.code(400).send(bad("trigger_name is required"));
    if (body.reason !== undefined && body.reason !== null && typeof body.reason !== "string")
      return reply.code(400).send(bad("reason must be a string"));
    const account = state.accounts.get(body.connected_account_id);
    if (!account) return reply.code(404).send(bad("No such connected account"));
    const now = state.nowIso();
    const instance = state.triggerInstances.get(state.triggerId(account.id, body.trigger_name));
    if (instance && instance.disabledAt === null) {
      instance.disabledAt = now;
      instance.updatedAt = now;
    }
    const event = webhooks.emit(
      WEBHOOK_EVENT_TYPES.triggerDisabled,
      { project_id: EMULATOR_PROJECT_ID, org_id: EMULATOR_ORG_ID, user_id: account.userId },
      {
        id: state.triggerId(account.id, body.trigger_name),
        connected_account_id: account.id,
        trigger_name: body.trigger_name,
        user_id: account.userId,
        disabled_at: now,
        disabled_reason: body.reason ?? "Disabled by Composio",
      },
      now,
    );
    return reply.code(202).send(accepted(event));
  });

  app.get("/rate-limit", async () => rateLimit.snapshot());

  app.put("/rate-limit", async (request, reply) => {
    const body = (request.body ?? {}) as { per_minute?: unknown };
    const value = body.per_minute;
    if (value !== null && (typeof value !== "number" || !Number.isInteger(value) || value < 1))
      return reply.code(400).send(bad("per_minute must be a positive integer or null (no limit)"));
    rateLimit.setLimit(value);
    return rateLimit.snapshot();
  });
}
