import type { FastifyInstance } from "fastify";
import { FAULT_KINDS, type FaultRegistry, type FaultSpec, pathMatches } from "./faults.js";
import { connectedAccountOut } from "./serialize.js";
import { ACCOUNT_STATUSES, type AccountStatus, type EmulatorState } from "./state.js";

export const CONTROL_PREFIX = "/_emulator";

function bad(message: string) {
  return { error: { message } };
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
 *   POST   /_emulator/clock  { advance_seconds }     -> { now } (moves the emulator's clock forward, e.g. to expire links)
 */
export async function controlRoutes(app: FastifyInstance, deps: { state: EmulatorState; faults: FaultRegistry }): Promise<void> {
  const { state, faults } = deps;

  app.get("/health", async () => ({ status: "ok", service: "composio-emulator" }));

  app.post("/reset", async (_request, reply) => {
    state.reset();
    faults.clear();
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
}
