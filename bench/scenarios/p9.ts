// P9 — outbound webhooks: an event published on the event bus (XADD + PUBLISH, then the outbox: a durable delivery
// row per matching endpoint and its job, exactly what a publishing service does) → our worker signs it and POSTs it
// → a local endpoint; measured from just before the publish to the endpoint's receipt, at 500 events/s (open
// loop). Baseline: Redis PUBLISH → a bare process that POSTs the same body to the same kind of endpoint.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { poolSql } from "@kronos/db";
import {
  createQueue,
  createRedis,
  EVENT_TYPES,
  EventBus,
  generateEndpointSecret,
  SEAL_PURPOSES,
  sealJobSecret,
  WebhookOutbox,
} from "@kronos/shared";
import pg from "pg";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { interleave } from "../lib/interleave.ts";
import { freePort, type Proc, startProc } from "../lib/proc.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { r2 } from "../lib/stats.ts";
import { createTenant, deleteKeys, startSystem } from "../lib/system.ts";
import { Inbox, measure } from "./p3.ts";

const RATE = 500;

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

export async function runP9(ctx: BenchContext): Promise<ScenarioResult> {
  const seconds = pick(ctx, 6, 2);
  const rounds = pick(ctx, 4, 1);
  const system = await startSystem(ctx.settings, {
    services: ["gateway", "worker"],
    // The endpoint is on this machine: allowed as in development (cloud metadata addresses stay refused).
    env: { OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true" },
  });
  const basePrefix = `benchbase${randomBytes(4).toString("hex")}`;
  const basePort = await freePort();
  const oursInbox = new Inbox();
  const baseInbox = new Inbox();
  const oursEndpoint = await startEndpoint(oursInbox);
  const baseEndpoint = await startEndpoint(baseInbox);
  const redis = createRedis(ctx.settings.redisUrl);
  const pool = new pg.Pool({ connectionString: ctx.settings.databaseUrl, max: 10 });
  const queue = createQueue("webhookDelivery", { connection: redis, prefix: system.prefix });
  let bare: Proc | undefined;
  try {
    bare = await startProc("bare-webhooks", "bench/baselines/webhook-post.ts", {
      env: {
        PATH: process.env.PATH ?? "",
        REDIS_URL: ctx.settings.redisUrl,
        REDIS_KEY_PREFIX: basePrefix,
        PORT: String(basePort),
        TARGET_URL: baseEndpoint.url,
      },
      ready: { url: `http://127.0.0.1:${basePort}/health` },
    });
    const tenant = await createTenant(system, "bench-p9");
    // The endpoint as POST /api/v1/webhook-endpoints stores it (the API refuses http under NODE_ENV=production).
    await pool.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, sealed_secret) VALUES (gen_random_uuid(), $1, $2, $3, $4)`,
      [
        tenant.tenantId,
        oursEndpoint.url,
        [EVENT_TYPES.triggerMessage],
        sealJobSecret(generateEndpointSecret(), system.sessionSecret, SEAL_PURPOSES.webhookEndpointSecrets),
      ],
    );
    const bus = new EventBus(redis, system.prefix, 10_000);
    const outbox = new WebhookOutbox(poolSql(pool), queue);
    bus.afterPublish((event, draft) => outbox.record(event, draft.tenantId));
    const worker = system.procs.worker as Proc;
    const ours = (s: number) =>
      measure(RATE, s, oursInbox, [{ name: "worker", pid: worker.pid }], async (key) => {
        await bus.publish({ type: EVENT_TYPES.triggerMessage, tenantId: tenant.tenantId, userId: null, data: { bench_seq: key } });
        return true;
      });
    const publisher = createRedis(ctx.settings.redisUrl);
    const baseProc = bare;
    const baseline = (s: number) =>
      measure(RATE, s, baseInbox, [{ name: "bare-webhooks", pid: baseProc.pid }], async (key) => {
        const id = `${Date.now()}-0`;
        const body = JSON.stringify({ type: "trigger.message", id, ts: new Date().toISOString(), data: { bench_seq: key } });
        await publisher.publish(`${basePrefix}:events`, body);
        return true;
      });
    await ours(1);
    await baseline(1);
    ctx.log(`P9: ${rounds} rounds of ${seconds}s at ${RATE}/s each side`);
    const result = await interleave(
      rounds,
      () => ours(seconds),
      () => baseline(seconds),
      ctx.log,
    );
    publisher.disconnect();
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
    figures.push({
      id: "P9",
      figure: "events not received",
      unit: "count",
      ours: lost,
      target: "0",
      pass: lost === 0,
      note: `of ${sent} published at ${RATE}/s`,
    });
    return {
      scenario: "P9",
      title: "Outbound webhooks",
      available: true,
      figures,
      cpu: { ours: result.rounds[0]!.ours.cpu, baseline: result.rounds[0]!.baseline.cpu },
      details: { rounds: result.rounds },
    };
  } finally {
    await queue.close();
    redis.disconnect();
    await pool.end();
    oursEndpoint.server.close();
    baseEndpoint.server.close();
    await bare?.stop();
    await system.stop();
    await deleteKeys(ctx.settings.redisUrl, basePrefix);
  }
}
