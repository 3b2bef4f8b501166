// P5 — footprint: RSS of each service idle, then after a round of P1–P4 (ours only, the same loads at a smaller
// size), then after a second identical round: a service that keeps growing leaks. Each reading follows a full GC in
// the service (through its inspector, on a loopback port), so garbage not yet collected is not counted as growth. Growth tolerance: 10% of the
// RSS after the first round (allocator and V8 heap sizing are not exact).
import { createRedis, QUEUES } from "@kronos/shared";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { bullmq } from "../lib/deps.ts";
import { sleep } from "../lib/proc.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { closeSockets } from "../lib/sockets.ts";
import { connectAccount, createTenant, SERVICES, type System, startSystem, type Tenant } from "../lib/system.ts";
import { BENCH_USER, mb, THROUGHPUT_ENV } from "./common.ts";
import { acceptOurs } from "./p1.ts";
import { pipelineOurs } from "./p2.ts";
import { openOursFeed, RATE, SOCKETS, webhookLatencyOurs } from "./p3.ts";
import { oursFanout } from "./p4.ts";

/** RSS per service after a full GC in each (twice: the second also frees what the first finalised). */
async function rssOf(system: System): Promise<Record<string, number>> {
  await system.collectGarbage();
  await system.collectGarbage();
  return Object.fromEntries(system.services().map((p) => [p.name, p.sample().rssBytes]));
}

/** V8 heap in use per service, from its own GET /metrics (prom-client's default metrics): tells a leak from RSS slack. */
async function heapOf(system: System): Promise<Record<string, number>> {
  const urls: Record<string, string> = {
    gateway: system.gatewayUrl,
    webhooks: system.webhooksUrl,
    worker: `http://127.0.0.1:${system.env.WORKER_PORT}`,
  };
  const out: Record<string, number> = {};
  for (const [service, url] of Object.entries(urls)) {
    const text = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${system.adminToken}` } })
      .then((r) => r.text())
      .catch(() => "");
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text);
    if (match?.[1]) out[service] = Number(match[1]);
  }
  return out;
}

export async function runP5(ctx: BenchContext): Promise<ScenarioResult> {
  const p1Seconds = pick(ctx, 3, 1);
  const p2Executions = pick(ctx, 500, 100);
  const p3Seconds = pick(ctx, 3, 1);
  const p4Sockets = pick(ctx, 10000, 1000);
  const system = await startSystem(ctx.settings, { env: THROUGHPUT_ENV, inspect: true });
  const redis = createRedis(ctx.settings.redisUrl);
  const queue = new bullmq.Queue(QUEUES.toolExecution, { connection: redis, prefix: system.prefix });
  try {
    await sleep(3000);
    const idle = await rssOf(system);
    const heaps: Array<Record<string, number>> = [await heapOf(system)];
    const tenant = await createTenant(system, "bench-p5");
    await connectAccount(system, tenant, BENCH_USER);
    const p4Tenant: Tenant = await createTenant(system, "bench-p5-fanout");

    const round = async (n: number) => {
      ctx.log(`P5 round ${n}: P1 (queue paused, then emptied)`);
      await queue.pause();
      await acceptOurs(system, tenant, p1Seconds, 0.5);
      await queue.obliterate({ force: true });
      await queue.resume();
      ctx.log(`P5 round ${n}: P2 ${p2Executions} executions`);
      await pipelineOurs(ctx.settings, system, tenant, p2Executions);
      ctx.log(`P5 round ${n}: P3 ${p3Seconds}s at ${RATE}/s with ${SOCKETS} sockets`);
      const feed = await openOursFeed(system, SOCKETS - 1);
      await webhookLatencyOurs(system, feed, RATE, p3Seconds);
      await closeSockets(feed.sockets);
      ctx.log(`P5 round ${n}: P4 ${p4Sockets} sockets, 3 events`);
      const fan = await oursFanout(system, p4Tenant);
      await fan.open(p4Sockets);
      for (let i = 0; i < 3; i++) await fan.fire();
      await fan.close();
      await sleep(5000);
      const rss = await rssOf(system);
      heaps.push(await heapOf(system));
      return rss;
    };
    const after1 = await round(1);
    const after2 = await round(2);
    const figures: Figure[] = [];
    for (const service of SERVICES) {
      const i = idle[service] ?? 0;
      const a1 = after1[service] ?? 0;
      const a2 = after2[service] ?? 0;
      figures.push({ id: "P5", figure: `${service} RSS idle`, unit: "MB", ours: mb(i), target: "≤ 150 MB", pass: mb(i) <= 150 });
      figures.push({
        id: "P5",
        figure: `${service} RSS after round 1 → round 2`,
        unit: "MB",
        ours: `${mb(a1)} → ${mb(a2)}`,
        target: "no growth (≤ +10%)",
        pass: a2 <= a1 * 1.1,
        note: `growth ${mb(a2 - a1)} MB; V8 heap used ${heaps.map((h) => mb(h[service] ?? 0)).join(" → ")} MB (idle → round 1 → round 2)`,
      });
    }
    return { scenario: "P5", title: "Footprint", available: true, figures, details: { idle, after1, after2, heaps } };
  } finally {
    await queue.close();
    redis.disconnect();
    await system.stop();
  }
}
