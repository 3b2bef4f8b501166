// P4 — fan-out: one tenant-wide event (no user: every API-key socket of the tenant sees it) published on the event
// bus, delivered by ONE webhooks process to N sockets; against a bare ws server fed by Redis pub/sub. Latency from
// just before the publish to each socket's message (each side's sockets live in a child process of their own; the
// client's own processing of N messages is part of both sides' tail). RSS of the server at 1,000, 5,000, 10,000.
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { interleave } from "../lib/interleave.ts";
import { CpuWindow, freePort, type Proc, procSample, repoRoot, sleep, startProc } from "../lib/proc.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { r2, summarize } from "../lib/stats.ts";
import { createTenant, deleteKeys, type System, startSystem, type Tenant } from "../lib/system.ts";
import { mb } from "./common.ts";

export interface FanoutClient {
  child: ChildProcess;
  request<T>(message: Record<string, unknown>): Promise<T>;
  open(total: number): Promise<number>;
  fire(): Promise<{ latencies: number[]; missing: number }>;
  close(): Promise<void>;
}

export async function fanoutClient(env: Record<string, string>): Promise<FanoutClient> {
  const child = fork("bench/lib/fanout-client.ts", [], { cwd: repoRoot, env: { ...env, PATH: process.env.PATH ?? "" }, stdio: "inherit" });
  let pending: ((value: unknown) => void) | null = null;
  child.on("message", (message) => {
    const resolve = pending;
    pending = null;
    resolve?.(message);
  });
  const request = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve) => {
      pending = resolve as (value: unknown) => void;
      if (Object.keys(message).length > 0) child.send(message);
    });
  await request({}); // ready
  return {
    child,
    request,
    async open(total) {
      const r = await request<{ ok: boolean; open: number; error?: string }>({ cmd: "open", total });
      if (!r.ok) throw new Error(`opening sockets failed after ${r.open}: ${r.error}`);
      return r.open;
    },
    fire: () => request({ cmd: "fire", timeoutMs: 15_000 }),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send({ cmd: "close" });
      await exited;
    },
  };
}

/** A socket holder of our webhooks service, as the tenant's API key (tenant-wide events reach API-key sockets). */
export function oursFanout(system: System, tenant: Tenant): Promise<FanoutClient> {
  return fanoutClient({
    FANOUT_MODE: "ours",
    FANOUT_URL: `${system.webhooksUrl.replace(/^http/, "ws")}/ws`,
    FANOUT_AUTH: `Bearer ${tenant.apiKey}`,
    FANOUT_TENANT: tenant.tenantId,
    REDIS_URL: system.env.REDIS_URL ?? "",
    REDIS_KEY_PREFIX: system.prefix,
  });
}

interface FanRun {
  p50: number;
  p99: number;
  max: number;
  missing: number;
  cpu: Record<string, number>;
}

async function fireOnce(client: FanoutClient, server: { name: string; pid: number }): Promise<FanRun> {
  const cpu = new CpuWindow([server, { name: "generator-child", pid: client.child.pid ?? -1 }]);
  const r = await client.fire();
  const s = summarize(r.latencies);
  return { p50: s.p50, p99: s.p99, max: s.max, missing: r.missing, cpu: cpu.end() };
}

export async function runP4(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = pick(ctx, [1000, 5000, 10000], [500, 1000]);
  const roundsAt = (n: number) => (ctx.quick ? 1 : n === 10000 ? 5 : 3);
  const system = await startSystem(ctx.settings, { services: ["gateway", "webhooks"] });
  const basePrefix = `benchbase${randomBytes(4).toString("hex")}`;
  const basePort = await freePort();
  let bare: Proc | undefined;
  let ours: FanoutClient | undefined;
  let base: FanoutClient | undefined;
  try {
    const tenant = await createTenant(system, "bench-p4");
    bare = await startProc("bare-feed", "bench/baselines/feed.ts", {
      env: { PATH: process.env.PATH ?? "", REDIS_URL: ctx.settings.redisUrl, REDIS_KEY_PREFIX: basePrefix, PORT: String(basePort) },
      ready: { url: `http://127.0.0.1:${basePort}/health` },
    });
    const webhooks = system.procs.webhooks!;
    const bareProc = bare;
    await sleep(1000);
    const idle = { ours: webhooks.sample().rssBytes, baseline: bare.sample().rssBytes };
    ours = await oursFanout(system, tenant);
    base = await fanoutClient({
      FANOUT_MODE: "baseline",
      FANOUT_URL: `ws://127.0.0.1:${basePort}/ws`,
      REDIS_URL: ctx.settings.redisUrl,
      REDIS_KEY_PREFIX: basePrefix,
    });
    const oursClient = ours;
    const baseClient = base;
    const figures: Figure[] = [];
    const details: Record<string, unknown> = { idle_rss: idle };
    let cpu: ScenarioResult["cpu"];
    for (const n of sizes) {
      const t0 = performance.now();
      await oursClient.open(n);
      const oursOpenS = (performance.now() - t0) / 1000;
      await baseClient.open(n);
      await sleep(2000);
      const rss = { ours: webhooks.sample().rssBytes, baseline: bareProc.sample().rssBytes };
      const perSocket = { ours: (rss.ours - idle.ours) / n, baseline: (rss.baseline - idle.baseline) / n };
      ctx.log(`P4 ${n} sockets open (ours in ${r2(oursOpenS)}s): RSS ours ${mb(rss.ours)} MB, bare ${mb(rss.baseline)} MB`);
      // Warm-up event each (not recorded).
      await oursClient.fire();
      await baseClient.fire();
      const result = await interleave(
        roundsAt(n),
        () => fireOnce(oursClient, webhooks),
        () => fireOnce(baseClient, { name: "bare-feed", pid: bareProc.pid }),
        ctx.log,
      );
      const p99 = result.ratio((r) => r.p99);
      const missing = result.rounds.reduce((m, r) => m + r.ours.missing, 0);
      const oursP99 = r2(result.median("ours", (r) => r.p99));
      const main = n === sizes.at(-1);
      figures.push(
        {
          id: main ? "P4" : `P4@${n}`,
          figure: `tenant-wide event to ${n} sockets, p99`,
          unit: "ms",
          ours: oursP99,
          baseline: r2(result.median("baseline", (r) => r.p99)),
          ratio: p99.median,
          spread: p99.spread,
          ...(main ? { target: "≤ 250 ms, all delivered", pass: oursP99 <= 250 && missing === 0 } : { pass: null }),
          note: `p50 ${r2(result.median("ours", (r) => r.p50))} vs ${r2(result.median("baseline", (r) => r.p50))} ms; not delivered: ${missing}`,
        },
        {
          id: main ? "P4" : `P4@${n}`,
          figure: `RSS of the server with ${n} sockets`,
          unit: "MB",
          ours: mb(rss.ours),
          baseline: mb(rss.baseline),
          ratio: r2(rss.ours / rss.baseline),
          ...(main ? { target: "≤ 400 MB", pass: mb(rss.ours) <= 400 } : { pass: null }),
          note: `${Math.round(perSocket.ours)} vs ${Math.round(perSocket.baseline)} bytes per socket over idle (${mb(idle.ours)} / ${mb(idle.baseline)} MB)`,
        },
      );
      if (main) cpu = { ours: result.rounds[0]!.ours.cpu, baseline: result.rounds[0]!.baseline.cpu };
      details[`n${n}`] = { rss, perSocket, oursOpenSeconds: oursOpenS, rounds: result.rounds };
    }
    const out: ScenarioResult = { scenario: "P4", title: "Fan-out", available: true, figures, details, ...(cpu ? { cpu } : {}) };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      await oursClient.close();
      await baseClient.close();
      ctx.log("P4 missed a target: profiling the webhooks service under the same fan-out");
      const n = sizes.at(-1) ?? 1000;
      out.profile = await profiled(ctx, ["webhooks"], { services: ["gateway", "webhooks"] }, async (s, loadStarts) => {
        const t = await createTenant(s, "bench-p4-profile");
        const c = await oursFanout(s, t);
        await c.open(n);
        loadStarts();
        for (let i = 0; i < 5; i++) await c.fire();
        await c.close();
      });
    }
    return out;
  } finally {
    await ours?.close();
    await base?.close();
    await bare?.stop();
    await system.stop();
    await deleteKeys(ctx.settings.redisUrl, basePrefix);
  }
}

export { procSample };
