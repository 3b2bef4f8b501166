// P9 — outbound webhooks: an event published on the event bus (XADD + PUBLISH, then the outbox: a durable delivery
// row per matching endpoint, pushed on the delivery lane, exactly what a publishing service does) → our worker signs
// it and POSTs it → a local endpoint; measured from just before the publish to the endpoint's receipt, at 500
// events/s (open loop). Baseline: Redis PUBLISH → a bare process that POSTs the same body to the same kind of endpoint.
// Floor (in rounds of its own against the baseline): a durable one-row INSERT, a Redis list hop, and a bare process
// that signs and POSTs (baselines/webhook-floor.ts): what any design that stores a delivery before sending it pays.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { poolSql } from "@kronos/db";
import {
  createRedis,
  EVENT_TYPES,
  EventBus,
  generateEndpointSecret,
  type Redis,
  SEAL_PURPOSES,
  sealJobSecret,
  WebhookOutbox,
} from "@kronos/shared";
import pg from "pg";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { type Interleaved, interleave } from "../lib/interleave.ts";
import { freePort, type Proc, startProc } from "../lib/proc.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { r2 } from "../lib/stats.ts";
import { createTenant, deleteKeys, type System, startSystem } from "../lib/system.ts";
import { Inbox, type LatencyRun, measure } from "./p3.ts";

const RATE = 500;
// The endpoint is on this machine: allowed as in development (cloud metadata addresses stay refused).
const SYSTEM_OPTIONS = { services: ["gateway" as const, "worker" as const], env: { OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true" } };

/** A trigger's event as the webhooks service publishes it, carrying the benchmark's key in its payload. */
const triggerMessage = (key: string) => ({
  trigger_slug: "GITHUB_COMMIT_EVENT",
  trigger_id: null,
  composio_trigger_id: "ti_bench",
  labels: [],
  connection_id: null,
  connected_account_id: "ca_bench",
  user_id: "bench-user",
  payload: { bench_seq: key },
});

/** A local endpoint: records when each event's `bench_seq` arrives, answers 204. */
async function startEndpoint(inbox: Inbox): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      inbox.take(body, performance.now());
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/** Our side on a running system: a tenant, its endpoint as the API stores it, the bus with the outbox, as a service wires them. */
async function oursOn(system: System, pool: pg.Pool, redis: Redis, url: string, inbox: Inbox) {
  const tenant = await createTenant(system, "bench-p9");
  // The endpoint as POST /api/v1/webhook-endpoints stores it (the API refuses http under NODE_ENV=production).
  await pool.query(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, sealed_secret) VALUES (gen_random_uuid(), $1, $2, $3, $4)`, [
    tenant.tenantId,
    url,
    [EVENT_TYPES.triggerMessage],
    sealJobSecret(generateEndpointSecret(), system.sessionSecret, SEAL_PURPOSES.webhookEndpointSecrets),
  ]);
  const bus = new EventBus(redis, system.prefix, 10_000);
  const outbox = new WebhookOutbox(poolSql(pool), { redis, prefix: system.prefix });
  bus.afterPublish((event, draft) => outbox.record(event, draft.tenantId));
  const worker = system.procs.worker as Proc;
  return (seconds: number) =>
    measure(RATE, seconds, inbox, [{ name: "worker", pid: worker.pid }], async (key) => {
      await bus.publish({ type: EVENT_TYPES.triggerMessage, tenantId: tenant.tenantId, userId: null, data: triggerMessage(key) });
      return true;
    });
}

/** CPU ms per event of one side's processes (the deliverer, Postgres, Redis), median over the rounds. */
function cpuPerEvent(result: Interleaved<LatencyRun>, side: "ours" | "baseline", deliverer: string): string {
  const per = (name: string) =>
    Math.round(result.median(side, (r) => ((r.cpu[name] ?? 0) / 100) * (r.elapsedMs / Math.max(1, r.sent))) * 1000) / 1000;
  return `${deliverer} ${per(deliverer)}, postgres ${per("postgres")}, redis ${per("redis")}`;
}

export async function runP9(ctx: BenchContext): Promise<ScenarioResult> {
  const seconds = pick(ctx, 6, 2);
  const rounds = pick(ctx, 4, 1);
  const floorRounds = pick(ctx, 4, 1);
  const system = await startSystem(ctx.settings, SYSTEM_OPTIONS);
  const basePrefix = `benchbase${randomBytes(4).toString("hex")}`;
  const floorTable = `${basePrefix}_floor_deliveries`; // its own, so that runs sharing the database do not meet
  const oursInbox = new Inbox();
  const baseInbox = new Inbox();
  const oursEndpoint = await startEndpoint(oursInbox);
  const baseEndpoint = await startEndpoint(baseInbox);
  const redis = createRedis(ctx.settings.redisUrl);
  const publisher = createRedis(ctx.settings.redisUrl);
  const pool = new pg.Pool({ connectionString: ctx.settings.databaseUrl, max: 10 });
  const procs: Proc[] = [];
  try {
    const start = async (name: string, entry: string, env: Record<string, string>) => {
      const port = await freePort();
      const proc = await startProc(name, entry, {
        env: { PATH: process.env.PATH ?? "", REDIS_URL: ctx.settings.redisUrl, REDIS_KEY_PREFIX: basePrefix, PORT: String(port), ...env },
        ready: { url: `http://127.0.0.1:${port}/health` },
      });
      procs.push(proc);
      return proc;
    };
    const bare = await start("bare-webhooks", "bench/baselines/webhook-post.ts", { TARGET_URL: baseEndpoint.url });
    const secret = generateEndpointSecret();
    const floorProc = await start("floor-webhooks", "bench/baselines/webhook-floor.ts", { TARGET_URL: baseEndpoint.url, SECRET: secret });
    const ours = await oursOn(system, pool, redis, oursEndpoint.url, oursInbox);
    const eventBody = (key: string) => {
      const id = `${Date.now()}-0`;
      return { id, body: JSON.stringify({ type: "trigger.message", id, ts: new Date().toISOString(), data: triggerMessage(key) }) };
    };
    const baseline = (s: number) =>
      measure(RATE, s, baseInbox, [{ name: "bare-webhooks", pid: bare.pid }], async (key) => {
        await publisher.publish(`${basePrefix}:events`, eventBody(key).body);
        return true;
      });
    await pool.query(`CREATE TABLE ${floorTable} (id uuid PRIMARY KEY, event_id text NOT NULL, body text NOT NULL)`);
    const floor = (s: number) =>
      measure(RATE, s, baseInbox, [{ name: "floor-webhooks", pid: floorProc.pid }], async (key) => {
        const { id, body } = eventBody(key);
        await pool.query({
          name: "p9-floor-insert",
          text: `INSERT INTO ${floorTable} (id, event_id, body) VALUES (gen_random_uuid(), $1, $2)`,
          values: [id, body],
        });
        await publisher.lpush(`${basePrefix}:floor-deliveries`, `${id} ${body}`);
        return true;
      });
    // Warm-up (not recorded).
    await ours(1);
    await baseline(1);
    await floor(1);
    ctx.log(`P9: ${rounds} rounds of ${seconds}s at ${RATE}/s each side`);
    const result = await interleave(
      rounds,
      () => ours(seconds),
      () => baseline(seconds),
      ctx.log,
    );
    ctx.log(`P9 floor: ${floorRounds} rounds of ${seconds}s at ${RATE}/s, a durable INSERT, a list hop, a bare signed POST`);
    const floorResult = await interleave(
      floorRounds,
      () => floor(seconds),
      () => baseline(seconds),
      ctx.log,
    );

    const lost = result.rounds.reduce((n, r) => n + (r.ours.sent - r.ours.received), 0);
    const sent = result.rounds.reduce((n, r) => n + r.ours.sent, 0);
    const figures: Figure[] = (["p50", "p99"] as const).map((q): Figure => {
      const ratio = result.ratio((r) => r[q]);
      return {
        id: "P9",
        figure: `event published → webhook received ${q}`,
        unit: "ms",
        ours: r2(result.median("ours", (r) => r[q])),
        baseline: r2(result.median("baseline", (r) => r[q])),
        ratio: ratio.median,
        spread: ratio.spread,
        ...(q === "p50" ? { target: "≤ 2× baseline", pass: ratio.median <= 2 } : { pass: null }),
      };
    });
    figures.push(
      ...(["p50", "p99"] as const).map((q): Figure => {
        const ratio = floorResult.ratio((r) => r[q]);
        return {
          id: "P9 floor",
          figure: `durable INSERT → list hop → signed POST ${q}`,
          unit: "ms",
          ours: r2(floorResult.median("ours", (r) => r[q])),
          baseline: r2(floorResult.median("baseline", (r) => r[q])),
          ratio: ratio.median,
          spread: ratio.spread,
          pass: null,
          note:
            `ours / floor: ${r2(result.median("ours", (r) => r[q]) / floorResult.median("ours", (r) => r[q]))}×` +
            (q === "p50" ? `; floor ${floorResult.rounds.reduce((n, r) => n + (r.ours.sent - r.ours.received), 0)} not received` : ""),
        };
      }),
      {
        id: "P9",
        figure: "CPU ms per event: deliverer, Postgres, Redis",
        unit: "ms",
        ours: cpuPerEvent(result, "ours", "worker"),
        pass: null,
        note: `floor: ${cpuPerEvent(floorResult, "ours", "floor-webhooks")}; baseline: ${cpuPerEvent(result, "baseline", "bare-webhooks")}`,
      },
      {
        id: "P9",
        figure: "events not received",
        unit: "count",
        ours: lost,
        target: "0",
        pass: lost === 0,
        note: `of ${sent} published at ${RATE}/s`,
      },
    );
    const out: ScenarioResult = {
      scenario: "P9",
      title: "Outbound webhooks",
      available: true,
      figures,
      cpu: { ours: result.rounds[0]!.ours.cpu, baseline: result.rounds[0]!.baseline.cpu },
      details: { rounds: result.rounds, floor: floorResult.rounds },
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      ctx.log("P9 missed a target: profiling the worker under the same load");
      out.profile = await profiled(ctx, ["worker"], SYSTEM_OPTIONS, async (s, loadStarts) => {
        const inbox = new Inbox();
        const endpoint = await startEndpoint(inbox);
        try {
          const run = await oursOn(s, pool, redis, endpoint.url, inbox);
          await run(1);
          loadStarts();
          await run(seconds);
        } finally {
          endpoint.server.close();
        }
      });
    }
    return out;
  } finally {
    redis.disconnect();
    publisher.disconnect();
    await pool.query(`DROP TABLE IF EXISTS ${floorTable}`).catch(() => {});
    await pool.end();
    oursEndpoint.server.close();
    baseEndpoint.server.close();
    for (const proc of procs) await proc.stop();
    await system.stop();
    await deleteKeys(ctx.settings.redisUrl, basePrefix);
  }
}
