// The fault suite of issue 11 (docs/operations.md): scripted faults against the built services, each scenario
// bounded, printing per scenario what was accepted, what reached a terminal state, what was lost or done twice, the
// 5xx answers, the slowest answer and the time to recover. Usage: ./scripts/faults.sh [--only name,name]
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { type FaultSystem, startFaultSystem } from "./system.ts";

const started = Date.now();
const log = (line: string) => process.stderr.write(`[faults +${Math.round((Date.now() - started) / 1000)}s] ${line}\n`);
/** How long a scenario waits, after its fault ended, for every accepted request to reach a terminal state. */
const RECOVERY_BOUND_MS = 75_000;
const REQUEST_TIMEOUT_MS = 15_000;

interface Row {
  scenario: string;
  accepted: number;
  terminal: number;
  lost: number;
  noEvent: number;
  duplicated: number;
  /** 503 UNAVAILABLE answers: the designed, clear refusal while a dependency is down. */
  unavailable: number;
  /** Any other 5xx: a bug. */
  fiveXx: number;
  /** Requests that got no answer within REQUEST_TIMEOUT_MS, or a refused connection (a service restarting). */
  noAnswer: number;
  slowestMs: number;
  recoverMs: number | null;
  note: string;
}

let system: FaultSystem;
let apiKey = "";
let tenantId = "";
const events = new Map<string, number>();

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = system.url("gateway")) {
  const t0 = performance.now();
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, ms: performance.now() - t0 };
  } catch {
    // Refused or timed out: no answer (a gateway being restarted refuses connections; that is not a 5xx).
    return { status: 0, body: {}, ms: performance.now() - t0 };
  }
}

/** Executions (and a few connection initiations) at a steady rate while a fault plays out. */
class Load {
  readonly executions = new Map<string, string>(); // execution id -> title
  readonly connections: string[] = [];
  fiveXx = 0;
  unavailable = 0;
  noAnswer = 0;
  slowestMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Array<Promise<unknown>> = [];
  private tick = 0;

  start(perSecond: number): void {
    this.timer = setInterval(() => {
      this.tick += 1;
      const title = `fault-${randomUUID()}`;
      this.inFlight.push(
        call("POST", "/api/v1/composio/tools/execute", {
          user_id: "fay",
          action_name: "GITHUB_CREATE_AN_ISSUE",
          params: { owner: "acme", repo: "app", title },
        }).then((r) => this.record(r, () => this.executions.set(String(r.body.execution_id), title))),
      );
      if (this.tick % perSecond === 0) {
        this.inFlight.push(
          call("POST", "/api/v1/composio/connections/initiate-enhanced", { user_id: `u-${this.tick}`, app_name: "github" }).then((r) =>
            this.record(r, () => this.connections.push(String(r.body.connection_id))),
          ),
        );
      }
    }, 1000 / perSecond);
  }

  record(r: { status: number; ms: number }, accepted: () => void): void {
    this.slowestMs = Math.max(this.slowestMs, r.ms);
    if (r.status === 503) this.unavailable += 1;
    else if (r.status >= 500) this.fiveXx += 1;
    else if (r.status === 0) this.noAnswer += 1;
    if (r.status >= 200 && r.status < 300) accepted();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }
}

async function terminalCounts(load: Load): Promise<{ terminal: number; withEvent: number }> {
  const ids = [...load.executions.keys()];
  const done = await system.db.query<{ id: string }>(
    "SELECT id::text FROM executions WHERE id = ANY($1::uuid[]) AND status NOT IN ('QUEUED', 'RUNNING')",
    [ids],
  );
  const connections = await system.db.query<{ id: string }>(
    "SELECT id::text FROM connections WHERE id = ANY($1::uuid[]) AND status <> 'INITIALIZING'",
    [load.connections],
  );
  const withEvent = done.rows.filter((row) => (events.get(row.id) ?? 0) > 0).length;
  return { terminal: done.rows.length + connections.rows.length, withEvent: withEvent + connections.rows.length };
}

async function duplicatedEffects(load: Load): Promise<number> {
  const response = await call("GET", "/_emulator/executions?tool_slug=GITHUB_CREATE_AN_ISSUE", undefined, {}, system.url("emulator"));
  const runs = new Map<string, number>();
  for (const item of (response.body.items as Array<{ arguments: { title?: string } }>) ?? []) {
    const title = item.arguments?.title;
    if (title) runs.set(title, (runs.get(title) ?? 0) + 1);
  }
  return [...load.executions.values()].filter((title) => (runs.get(title) ?? 0) > 1).length;
}

/** Runs load for `loadMs`, with `fault` starting `faultAtMs` in and `heal` ending it; then waits for recovery. */
/** Waits until the gateway says every dependency answers: each scenario starts from a healthy system. */
async function healthy(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await call("GET", "/api/v1/composio/health")).status === 200) return;
    await sleep(100);
  }
  log("the system did not report healthy within 30 s; going on");
}

async function scenario(
  name: string,
  options: { loadMs: number; faultAtMs: number; fault: () => Promise<void>; heal: () => Promise<void>; perSecond?: number; note?: string },
): Promise<Row> {
  await healthy();
  log(`scenario: ${name}`);
  const load = new Load();
  load.start(options.perSecond ?? 10);
  await sleep(options.faultAtMs);
  await options.fault();
  await sleep(options.loadMs - options.faultAtMs);
  await options.heal();
  const healedAt = Date.now();
  await load.stop();
  const accepted = load.executions.size + load.connections.length;
  let recoverMs: number | null = null;
  let counts = await terminalCounts(load);
  while (Date.now() - healedAt < RECOVERY_BOUND_MS) {
    counts = await terminalCounts(load);
    if (counts.terminal === accepted && counts.withEvent === accepted) {
      recoverMs = Date.now() - healedAt;
      break;
    }
    await sleep(250);
  }
  const row: Row = {
    scenario: name,
    accepted,
    terminal: counts.terminal,
    lost: accepted - counts.terminal,
    noEvent: counts.terminal - counts.withEvent,
    duplicated: await duplicatedEffects(load),
    unavailable: load.unavailable,
    fiveXx: load.fiveXx,
    noAnswer: load.noAnswer,
    slowestMs: Math.round(load.slowestMs),
    recoverMs,
    note: options.note ?? "",
  };
  log(JSON.stringify(row));
  return row;
}

const nothing = async () => {};

async function setUp(): Promise<void> {
  const tenant = await call("POST", "/api/v1/admin/tenants", { name: "faults" }, { authorization: `Bearer ${system.env.ADMIN_TOKEN}` });
  apiKey = String(tenant.body.api_key);
  tenantId = String(tenant.body.tenant_id);
  const initiated = await call("POST", "/api/v1/composio/connections/initiate-enhanced", { user_id: "fay", app_name: "github" });
  const connectionId = String(initiated.body.connection_id);
  let link = "";
  for (let i = 0; i < 200 && !link; i++) {
    link = String((await call("GET", `/api/v1/composio/connections/${connectionId}`)).body.redirect_url ?? "");
    if (link === "null") link = "";
    await sleep(100);
  }
  const consent = await fetch(link, { redirect: "manual" });
  await fetch(String(consent.headers.get("location")), { redirect: "manual" });
  for (let i = 0; i < 200; i++) {
    if ((await call("GET", `/api/v1/composio/connections/${connectionId}`)).body.status === "ACTIVE") break;
    await sleep(100);
  }
  const feed = new URL("/ws", system.url("webhooks").replace("http", "ws"));
  const socket = new WebSocket(feed, { headers: { authorization: `Bearer ${apiKey}` } });
  socket.on("message", (raw) => {
    const message = JSON.parse(String(raw)) as { type?: string; data?: { execution_id?: string; payload?: { dup?: string } } };
    const key =
      message.type === "execution.completed"
        ? message.data?.execution_id
        : message.type === "trigger.message"
          ? message.data?.payload?.dup
          : undefined;
    if (key) events.set(key, (events.get(key) ?? 0) + 1);
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
}

const SCENARIOS: Record<string, () => Promise<Row>> = {
  "worker SIGKILL mid-call": () =>
    scenario("worker SIGKILL mid-call", {
      loadMs: 6_000,
      faultAtMs: 2_000,
      fault: async () => {
        // Executions and initiations are both mid-call when the worker dies.
        await call("POST", "/_emulator/faults", { kind: "latency", ms: 1500, path: "/tools/execute/*" }, {}, system.url("emulator"));
        await call("POST", "/_emulator/faults", { kind: "latency", ms: 1500, path: "/connected_accounts/*" }, {}, system.url("emulator"));
        await sleep(1_000);
        await system.kill("worker", "SIGKILL");
        await system.start("worker");
      },
      heal: async () => {
        await call("DELETE", "/_emulator/faults", undefined, {}, system.url("emulator"));
      },
    }),
  "Redis restart, data kept": () =>
    scenario("Redis restart, data kept", {
      loadMs: 6_000,
      faultAtMs: 2_000,
      fault: async () => {
        await system.redisStop(true);
        await sleep(1_000);
        await system.redisStart();
      },
      heal: nothing,
    }),
  "Redis restart, data lost": () =>
    scenario("Redis restart, data lost", {
      loadMs: 6_000,
      faultAtMs: 2_000,
      fault: async () => {
        await system.redisStop(false);
        await sleep(1_000);
        await system.redisStart();
      },
      heal: nothing,
    }),
  "Postgres refused 10 s": () =>
    scenario("Postgres refused 10 s", {
      loadMs: 13_000,
      faultAtMs: 1_500,
      fault: () => system.pgProxy.refuse(),
      heal: () => system.pgProxy.restore(),
    }),
  "Postgres blackholed 10 s": () =>
    scenario("Postgres blackholed 10 s", {
      loadMs: 13_000,
      faultAtMs: 1_500,
      fault: async () => system.pgProxy.blackhole(),
      heal: () => system.pgProxy.restore(),
    }),
  "Postgres refused 35 s": () =>
    scenario("Postgres refused 35 s", {
      loadMs: 38_000,
      faultAtMs: 1_500,
      fault: () => system.pgProxy.refuse(),
      heal: () => system.pgProxy.restore(),
      perSecond: 5,
    }),
  "Postgres blackholed 35 s": () =>
    scenario("Postgres blackholed 35 s", {
      loadMs: 38_000,
      faultAtMs: 1_500,
      fault: async () => system.pgProxy.blackhole(),
      heal: () => system.pgProxy.restore(),
      perSecond: 5,
    }),
  "SIGTERM under load": () =>
    scenario("SIGTERM under load (worker, gateway)", {
      loadMs: 6_000,
      faultAtMs: 2_000,
      fault: async () => {
        const worker = await system.kill("worker", "SIGTERM");
        await system.start("worker");
        const gateway = await system.kill("gateway", "SIGTERM");
        await system.start("gateway");
        log(`worker stopped in ${worker.ms} ms (exit ${worker.code}), gateway in ${gateway.ms} ms (exit ${gateway.code})`);
      },
      heal: nothing,
    }),
  "Composio 429 and 5xx": () =>
    scenario("Composio 429 and 5xx", {
      loadMs: 6_000,
      faultAtMs: 1_000,
      fault: async () => {
        const emulator = system.url("emulator");
        await call(
          "POST",
          "/_emulator/faults",
          { kind: "rate_limit", path: "/tools/execute/*", retryAfterSeconds: 1, times: 5 },
          {},
          emulator,
        );
        await call("POST", "/_emulator/faults", { kind: "server_error", status: 503, path: "/tools/execute/*", times: 10 }, {}, emulator);
      },
      heal: async () => {
        await call("DELETE", "/_emulator/faults", undefined, {}, system.url("emulator"));
      },
    }),
  "worker stop, Redis away": async () => {
    log("scenario: worker SIGTERM while Redis is unreachable");
    await system.redisStop(true);
    const stopped = await system.kill("worker", "SIGTERM");
    await system.redisStart();
    await system.start("worker");
    return {
      scenario: "worker SIGTERM, Redis away",
      accepted: 0,
      terminal: 0,
      lost: 0,
      noEvent: 0,
      duplicated: 0,
      unavailable: 0,
      fiveXx: 0,
      noAnswer: 0,
      slowestMs: stopped.ms,
      recoverMs: null,
      note: `exit code ${stopped.code} after ${stopped.ms} ms`,
    };
  },
  "duplicate webhooks": async () => {
    log("scenario: duplicate webhook deliveries");
    const ids = Array.from({ length: 40 }, () => `msg_fault_${randomUUID().replaceAll("-", "")}`);
    let fiveXx = 0;
    let slowest = 0;
    await Promise.all(
      ids.flatMap((id) =>
        [0, 5, 12].map(async (delay) => {
          await sleep(delay);
          const body = JSON.stringify({
            id,
            type: "composio.trigger.message",
            timestamp: new Date().toISOString(),
            metadata: { trigger_slug: "GITHUB_COMMIT_EVENT", trigger_id: "ti_1", user_id: `${tenantId}:fay` },
            data: { dup: id },
          });
          const t0 = performance.now();
          const response = await fetch(`${system.url("webhooks")}/webhooks/composio`, {
            method: "POST",
            headers: system.signWebhook(id, body),
            body,
          });
          slowest = Math.max(slowest, performance.now() - t0);
          if (response.status >= 500) fiveXx += 1;
        }),
      ),
    );
    await sleep(3_000);
    const delivered = ids.filter((id) => (events.get(id) ?? 0) > 0).length;
    return {
      scenario: "duplicate webhooks (40 ids x 3 copies)",
      accepted: ids.length,
      terminal: delivered,
      lost: ids.length - delivered,
      noEvent: 0,
      duplicated: ids.filter((id) => (events.get(id) ?? 0) > 1).length,
      unavailable: 0,
      fiveXx,
      noAnswer: 0,
      slowestMs: Math.round(slowest),
      recoverMs: null,
      note: "",
    };
  },
  "bad input": async () => {
    log("scenario: bad input");
    const bodies = [
      '{"user_id":"a\\u0000","action_name":"GITHUB_X","params":{}}',
      '{"user_id":"alice","action_name":"GITHUB_X","params":{"t":"\\ud800"}}',
      `{"user_id":"alice","action_name":"GITHUB_X","params":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`,
      '{"toolkit":"github","name":"n\\u0000","auth_scheme":"OAUTH2"}',
      '{"connection_ids":["\\u0000"]}',
    ];
    const paths = [
      "/api/v1/composio/tools/execute",
      "/api/v1/composio/auth-configs",
      "/api/v1/composio/connections/bulk/disable",
      "/api/v1/composio/connections/initiate-enhanced",
    ];
    let fiveXx = 0;
    let slowest = 0;
    let sent = 0;
    for (const path of paths) {
      for (const body of bodies) {
        const r = await call("POST", path, body);
        sent += 1;
        slowest = Math.max(slowest, r.ms);
        if (r.status >= 500) fiveXx += 1;
      }
    }
    const cursor = Buffer.from("+010000-01-01T00:00:00.000Z|00000000-0000-4000-8000-000000000000").toString("base64url");
    for (const query of ["?search=%00", `?cursor=${cursor}`, "?user_id=a&user_id=b"]) {
      for (const path of ["/api/v1/composio/connections", "/api/v1/composio/auth-configs", "/api/v1/composio/toolkits"]) {
        const r = await call("GET", path + query);
        sent += 1;
        slowest = Math.max(slowest, r.ms);
        if (r.status >= 500) fiveXx += 1;
      }
    }
    const ws = await fetch(`${system.url("webhooks")}/ws?token=a&token=b`);
    sent += 1;
    if (ws.status >= 500) fiveXx += 1;
    return {
      scenario: `bad input (${sent} requests)`,
      accepted: 0,
      terminal: 0,
      lost: 0,
      noEvent: 0,
      duplicated: 0,
      unavailable: 0,
      fiveXx,
      noAnswer: 0,
      slowestMs: Math.round(slowest),
      recoverMs: null,
      note: "",
    };
  },
};

function table(rows: Row[]): string {
  const header =
    "| scenario | accepted | terminal | lost | terminal, no event | duplicated effects | 503 | other 5xx | no answer | slowest answer | time to recover | note |";
  const recovery = (r: Row) =>
    r.recoverMs !== null
      ? `${(r.recoverMs / 1000).toFixed(1)} s`
      : r.lost > 0 || r.terminal < r.accepted
        ? `> ${RECOVERY_BOUND_MS / 1000} s`
        : "-";
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.accepted} | ${r.terminal} | ${r.lost} | ${r.noEvent} | ${r.duplicated} | ${r.unavailable} | ${r.fiveXx} | ${r.noAnswer} | ${(r.slowestMs / 1000).toFixed(2)} s | ${recovery(r)} | ${r.note} |`,
  );
  return [header, `|${" --- |".repeat(12)}`, ...lines].join("\n");
}

const args = process.argv.slice(2);
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? onlyArg.slice("--only=".length).split(",") : Object.keys(SCENARIOS);
system = await startFaultSystem(log);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void system.stop().finally(() => process.exit(130));
  });
}
const rows: Row[] = [];
try {
  await setUp();
  for (const name of only) {
    const run = SCENARIOS[name];
    if (!run) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(", ")})`);
    rows.push(await run());
  }
} finally {
  await system.stop();
}
process.stdout.write(`\nFault suite, ${new Date().toISOString()} (${Math.round((Date.now() - started) / 1000)} s)\n\n${table(rows)}\n`);
process.exit(0);
