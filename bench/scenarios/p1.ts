// P1 — accepting work: POST /api/v1/composio/tools/execute (API-key auth, validation, enqueue, 202) against a bare
// Fastify route that only does the same queue.add. Closed loop, 50 connections, every response time kept.
// Main figure: no worker consuming (the accept path alone). Scaling: with the worker draining at concurrency c
// (ours: our worker doing real executions; baseline: the bare no-op worker).
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { interleave } from "../lib/interleave.ts";
import { type HttpLoadResult, httpLoad } from "../lib/load.ts";
import { CpuWindow, freePort, type Proc, startProc } from "../lib/proc.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { r2, summarize } from "../lib/stats.ts";
import { connectAccount, createTenant, deleteKeys, type System, startSystem, type Tenant } from "../lib/system.ts";
import { BENCH_USER, clearToolQueue, EXECUTE_PATH, executeBody, THROUGHPUT_ENV } from "./common.ts";

const CONNECTIONS = 50;

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  cpu: Record<string, number>;
}

export function toRun(r: HttpLoadResult, cpu: Record<string, number>, okStatus: number): Run {
  const s = summarize(r.latencies);
  const non2xx = Object.entries(r.statuses).reduce((n, [code, count]) => (Number(code) === okStatus ? n : n + count), 0) + r.errors;
  return { rps: r.rps, p50: s.p50, p99: s.p99, non2xx, cpu };
}

/** Our accept load for `seconds` (after a warm-up), with the CPU of the services and of this generator. */
export async function acceptOurs(system: System, tenant: Tenant, seconds: number, warmup: number): Promise<Run> {
  const options = {
    url: `${system.gatewayUrl}${EXECUTE_PATH}`,
    headers: { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
    body: executeBody(),
    connections: CONNECTIONS,
  };
  if (warmup > 0) await httpLoad({ ...options, seconds: warmup }, false);
  const cpu = new CpuWindow(system.services());
  const result = await httpLoad({ ...options, seconds });
  return toRun(result, cpu.end(), 202);
}

export async function runP1(ctx: BenchContext): Promise<ScenarioResult> {
  const seconds = pick(ctx, 3, 1.5);
  const warmup = pick(ctx, 1, 0.5);
  const rounds = pick(ctx, 8, 1);
  const floorRounds = pick(ctx, 4, 1);
  const levels = pick(ctx, [1, 2, 4, 8], [1, 8]);
  const scaleRounds = pick(ctx, 2, 1);
  const scaleSeconds = pick(ctx, 3, 1);

  const system = await startSystem(ctx.settings, { env: THROUGHPUT_ENV });
  const basePrefix = `benchbase${randomBytes(4).toString("hex")}`;
  const basePort = await freePort();
  const baseEnv = { PATH: process.env.PATH ?? "", REDIS_URL: ctx.settings.redisUrl, REDIS_KEY_PREFIX: basePrefix, PORT: String(basePort) };
  // Held in an object: assigned in the rounds' callbacks, which the checks after them would not see.
  const held: { bareWorker?: Proc } = {};
  const bare = await startProc("bare-accept", "bench/baselines/accept.ts", {
    env: baseEnv,
    ready: { url: `http://127.0.0.1:${basePort}/health` },
  });
  // The floor: the bare route that stores each job durably first, on a table and a Redis prefix of its own.
  const floorPrefix = `benchp1floor${randomBytes(4).toString("hex")}`;
  const floorTable = `${floorPrefix}_accepted`;
  const floorPort = await freePort();
  const admin = new pg.Client({ connectionString: ctx.settings.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE TABLE ${floorTable} (id uuid PRIMARY KEY, data jsonb NOT NULL)`);
  const floor = await startProc("floor-accept", "bench/baselines/accept.ts", {
    env: {
      ...baseEnv,
      REDIS_KEY_PREFIX: floorPrefix,
      PORT: String(floorPort),
      DATABASE_URL: ctx.settings.databaseUrl,
      FLOOR_TABLE: floorTable,
    },
    ready: { url: `http://127.0.0.1:${floorPort}/health` },
  });
  try {
    const tenant = await createTenant(system, "bench-p1");
    // Our worker's jobs must do the real work when it runs (scaling): the user has an ACTIVE connection.
    await connectAccount(system, tenant, BENCH_USER);
    await system.procs.worker?.stop();
    delete system.procs.worker;

    const bareRun = async (port: number, proc: Proc, s: number): Promise<Run> => {
      const options = {
        url: `http://127.0.0.1:${port}/execute`,
        headers: { "content-type": "application/json" },
        body: executeBody(),
        connections: CONNECTIONS,
      };
      if (warmup > 0) await httpLoad({ ...options, seconds: warmup }, false);
      const cpu = new CpuWindow([
        { name: proc.name, pid: proc.pid },
        ...(held.bareWorker ? [{ name: "bare-worker", pid: held.bareWorker.pid }] : []),
      ]);
      return toRun(await httpLoad({ ...options, seconds: s }), cpu.end(), 202);
    };
    const baselineRun = (s: number) => bareRun(basePort, bare, s);
    const clearBoth = async () => {
      await clearToolQueue(ctx.settings, system.prefix);
      await clearToolQueue(ctx.settings, basePrefix);
    };

    ctx.log(`P1 main: ${rounds} rounds of ${seconds}s each side, ${CONNECTIONS} connections, no worker consuming`);
    const main = await interleave(
      rounds,
      async () => {
        await clearBoth();
        return acceptOurs(system, tenant, seconds, warmup);
      },
      async () => {
        await clearBoth();
        return baselineRun(seconds);
      },
      ctx.log,
    );
    ctx.log(`P1 floor: ${floorRounds} rounds of ${seconds}s each side (the bare route with a durable INSERT first)`);
    const floorResult = await interleave(
      floorRounds,
      async () => {
        await clearToolQueue(ctx.settings, floorPrefix);
        await admin.query(`TRUNCATE ${floorTable}`);
        return bareRun(floorPort, floor, seconds);
      },
      async () => {
        await clearBoth();
        return baselineRun(seconds);
      },
      ctx.log,
    );
    const rps = main.ratio((r) => r.rps);
    const p99 = main.ratio((r) => r.p99);
    const p50 = main.ratio((r) => r.p50);
    const figures: Figure[] = [
      {
        id: "P1",
        figure: "accepted requests/s",
        unit: "req/s",
        ours: Math.round(main.median("ours", (r) => r.rps)),
        baseline: Math.round(main.median("baseline", (r) => r.rps)),
        ratio: rps.median,
        spread: rps.spread,
        target: "≥ 0.8× baseline",
        pass: rps.median >= 0.8,
      },
      {
        id: "P1",
        figure: "p99 response time",
        unit: "ms",
        ours: r2(main.median("ours", (r) => r.p99)),
        baseline: r2(main.median("baseline", (r) => r.p99)),
        ratio: p99.median,
        spread: p99.spread,
        target: "≤ 1.5× baseline",
        pass: p99.median <= 1.5,
      },
      {
        id: "P1",
        figure: "p50 response time",
        unit: "ms",
        ours: r2(main.median("ours", (r) => r.p50)),
        baseline: r2(main.median("baseline", (r) => r.p50)),
        ratio: p50.median,
        spread: p50.spread,
        pass: null,
      },
      {
        id: "P1 floor",
        figure: "accepted requests/s of the bare route storing each job durably first (one INSERT, then queue.add)",
        unit: "req/s",
        ours: Math.round(floorResult.median("ours", (r) => r.rps)),
        baseline: Math.round(floorResult.median("baseline", (r) => r.rps)),
        ratio: floorResult.ratio((r) => r.rps).median,
        spread: floorResult.ratio((r) => r.rps).spread,
        pass: null,
        note: `ours / floor: ${r2(main.median("ours", (r) => r.rps) / floorResult.median("ours", (r) => r.rps))}×; p99 ${r2(floorResult.median("ours", (r) => r.p99))} vs ${r2(floorResult.median("baseline", (r) => r.p99))} ms`,
      },
    ];
    // The server's own CPU per accepted request, per round: what each side costs, whatever the machine's speed does
    // to the request rate (both sides saturate a core, so the throughput ratio follows this one's inverse).
    // The server is the one process besides the generator: "gateway" on our side, "bare-accept" on the baseline's.
    const cpuPerRequest = (r: Run) => ((r.cpu.gateway ?? r.cpu["bare-accept"] ?? 0) * 10_000) / Math.max(r.rps, 1);
    const cpuRatio = main.ratio(cpuPerRequest);
    figures.push({
      id: "P1",
      figure: "server CPU per accepted request",
      unit: "µs",
      ours: Math.round(main.median("ours", cpuPerRequest)),
      baseline: Math.round(main.median("baseline", cpuPerRequest)),
      ratio: cpuRatio.median,
      spread: cpuRatio.spread,
      pass: null,
      note: "0.8× the throughput needs at most 1.25× the CPU per request",
    });
    const non2xx = main.rounds.reduce((n, r) => n + r.ours.non2xx, 0);
    if (non2xx > 0) figures.push({ id: "P1", figure: "non-202 answers (ours)", unit: "count", ours: non2xx, pass: false, target: "0" });

    // Scaling: the same accept load while a worker drains the queue at concurrency c.
    const scaling: Record<string, unknown> = {};
    for (const c of levels) {
      ctx.log(`P1 with the worker at concurrency ${c}`);
      const scaled = await interleave(
        scaleRounds,
        async () => {
          await clearToolQueue(ctx.settings, system.prefix);
          await system.restartWorker({ WORKER_CONCURRENCY: String(c) });
          const run = await acceptOurs(system, tenant, scaleSeconds, warmup);
          // Stopped before the baseline runs: its backlog must not compete for the CPU.
          await system.procs.worker?.stop();
          return run;
        },
        async () => {
          await clearToolQueue(ctx.settings, basePrefix);
          held.bareWorker = await startProc("bare-worker", "bench/baselines/worker.ts", {
            env: { ...baseEnv, WORKER_CONCURRENCY: String(c) },
            ready: { line: "bare worker ready" },
          });
          const run = await baselineRun(scaleSeconds);
          await held.bareWorker.stop();
          return run;
        },
        ctx.log,
      );
      const ratio = scaled.ratio((r) => r.rps);
      const p99c = scaled.ratio((r) => r.p99);
      figures.push({
        id: `P1@c${c}`,
        figure: `accepted req/s, worker concurrency ${c}`,
        unit: "req/s",
        ours: Math.round(scaled.median("ours", (r) => r.rps)),
        baseline: Math.round(scaled.median("baseline", (r) => r.rps)),
        ratio: ratio.median,
        spread: ratio.spread,
        pass: null,
        note: `p99 ${r2(scaled.median("ours", (r) => r.p99))} vs ${r2(scaled.median("baseline", (r) => r.p99))} ms (×${p99c.median})`,
      });
      scaling[`c${c}`] = scaled.rounds;
    }
    // The rounds restarted the worker (system.restartWorker), which the `delete` above hides from the compiler.
    const { procs } = system;
    await procs.worker?.stop();
    await held.bareWorker?.stop();

    const result: ScenarioResult = {
      scenario: "P1",
      title: "Accepting work",
      available: true,
      figures,
      cpu: { ours: main.rounds[0]!.ours.cpu, baseline: main.rounds[0]!.baseline.cpu },
      details: { main: main.rounds, floor: floorResult.rounds, scaling },
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      ctx.log("P1 missed a target: profiling the gateway under the same load");
      result.profile = await profiled(ctx, ["gateway"], { services: ["gateway"] }, async (s, loadStarts) => {
        const t = await createTenant(s, "bench-p1-profile");
        await acceptOurs(s, t, warmup, 0);
        loadStarts();
        await acceptOurs(s, t, seconds, 0);
      });
    }
    return result;
  } finally {
    await bare.stop();
    await floor.stop();
    await admin.query(`DROP TABLE IF EXISTS ${floorTable}`).catch(() => {});
    await admin.end();
    await deleteKeys(ctx.settings.redisUrl, floorPrefix);
    await held.bareWorker?.stop();
    await system.stop();
    await deleteKeys(ctx.settings.redisUrl, basePrefix);
  }
}
