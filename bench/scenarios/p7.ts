// P7 — an agent's call through us: POST /api/v1/composio/tools/execute?wait=10 for a connected toolkit (accept,
// queue, worker, Composio, stored, the waiting request woken, 200 with the result), against the same call made
// straight to Composio (the emulator at 0 ms), interleaved, sequentially and with 8 in flight. The figure that
// matters is our overhead: ours minus the direct call, at p50 and p99 (target ≤ 3 ms and ≤ 10 ms).
// The floor (baselines/p7-floor.ts), in rounds of its own against the same direct call: bare code doing the least
// such a call needs (a durable INSERT, a queue hop, the call, a durable outcome, a wake-up). Where the target is
// missed, the latency marks of a sequential run say where the time goes, step by step (lib/latency-marks.ts).
import { randomBytes } from "node:crypto";
import { composioUserId } from "@kronos/shared";
import pg from "pg";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { type Interleaved, interleave } from "../lib/interleave.ts";
import { type Breakdown, breakdown, formatBreakdown, marksDir } from "../lib/latency-marks.ts";
import { bounded, post } from "../lib/load.ts";
import { CpuWindow, freePort, type Proc, startProc } from "../lib/proc.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { r2, summarize } from "../lib/stats.ts";
import { connectAccount, createTenant, type System, startSystem, type Tenant } from "../lib/system.ts";
import { BENCH_USER, EXECUTE_PATH, executeBody, THROUGHPUT_ENV, TOOL } from "./common.ts";

interface Run {
  p50: number;
  p99: number;
  failed: number;
  cpu: Record<string, number>;
}

async function timed(total: number, inFlight: number, call: () => Promise<boolean>): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  await bounded(total, inFlight, async () => {
    const t0 = performance.now();
    const ok = await call();
    latencies.push(performance.now() - t0);
    if (!ok) failed += 1;
  });
  return { latencies, failed };
}

/** Our side: the agent's synchronous call. A 200 with a SUCCEEDED execution counts; anything else fails. */
function oursCall(system: System, tenant: Tenant) {
  const url = `${system.gatewayUrl}${EXECUTE_PATH}?wait=10`;
  const headers = { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" };
  const body = executeBody();
  return async () => {
    const answer = await post(url, headers, body);
    return answer.status === 200 && answer.body.includes('"status":"SUCCEEDED"');
  };
}

/** The baseline: the same tool on the same account, straight to Composio (what an agent without us would do). */
function directCall(system: System, tenant: Tenant, account: string) {
  const url = `${system.emulatorUrl}/api/v3/tools/execute/${TOOL}`;
  const headers = { "x-api-key": system.env.COMPOSIO_API_KEY!, "content-type": "application/json" };
  const body = JSON.stringify({ arguments: {}, connected_account_id: account, user_id: `${tenant.tenantId}:${BENCH_USER}` });
  return async () => {
    const answer = await post(url, headers, body);
    return answer.status === 200 && answer.body.includes('"successful":true');
  };
}

/** The floor's two processes (accept, worker) on a table and a Redis prefix of their own. */
async function startFloor(ctx: BenchContext, system: System, tenant: Tenant, account: string) {
  const prefix = `benchp7floor${randomBytes(4).toString("hex")}`;
  const table = `${prefix}_executions`; // its own, so that runs sharing the database do not meet
  const pool = new pg.Pool({ connectionString: ctx.settings.databaseUrl, max: 2 });
  await pool.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY, status text NOT NULL, result jsonb)`);
  const procs: Proc[] = [];
  const start = async (role: "accept" | "worker") => {
    const port = await freePort();
    const proc = await startProc(`p7-floor-${role}`, "bench/baselines/p7-floor.ts", {
      env: {
        PATH: process.env.PATH ?? "",
        ROLE: role,
        PORT: String(port),
        DATABASE_URL: ctx.settings.databaseUrl,
        REDIS_URL: ctx.settings.redisUrl,
        REDIS_KEY_PREFIX: prefix,
        FLOOR_TABLE: table,
        EMULATOR_URL: system.emulatorUrl,
        TOOL,
        COMPOSIO_API_KEY: system.env.COMPOSIO_API_KEY as string,
        CONNECTED_ACCOUNT_ID: account,
        USER_ID: composioUserId(tenant.tenantId, BENCH_USER),
      },
      ready: { url: `http://127.0.0.1:${port}/health` },
    });
    procs.push(proc);
    return { proc, url: `http://127.0.0.1:${port}/` };
  };
  await start("worker");
  const accept = await start("accept");
  return {
    procs,
    call: async () => {
      const answer = await post(accept.url, { "content-type": "application/json" }, executeBody());
      return answer.status === 200 && answer.body.includes('"successful":true');
    },
    async stop() {
      for (const proc of procs) await proc.stop();
      await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await pool.end();
    },
  };
}

/** Our sequential call with the services' latency marks on: where the time goes, step by step. */
async function markedRun(ctx: BenchContext, calls: number): Promise<Breakdown> {
  const marks = marksDir();
  const system = await startSystem(ctx.settings, { env: { ...THROUGHPUT_ENV, LATENCY_MARKS_FILE: marks.file } });
  const client = new Map<string, [number, number]>();
  try {
    const tenant = await createTenant(system, "bench-p7-marks");
    await connectAccount(system, tenant, BENCH_USER);
    const url = `${system.gatewayUrl}${EXECUTE_PATH}?wait=10`;
    const headers = { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" };
    const body = executeBody();
    await timed(50, 1, async () => (await post(url, headers, body)).status === 200);
    await bounded(calls, 1, async () => {
      const sent = performance.timeOrigin + performance.now();
      const answer = await post(url, headers, body);
      const received = performance.timeOrigin + performance.now();
      const id = answer.status === 200 ? (JSON.parse(answer.body) as { execution_id?: string }).execution_id : undefined;
      if (id) client.set(id, [sent, received]);
    });
  } finally {
    // Each service writes its last marks as it exits.
    await system.stop();
  }
  try {
    return breakdown(marks.dir, client);
  } finally {
    marks.done();
  }
}

/** Overhead (ours − direct) per round, sorted, at a percentile. */
const overheadOf = (result: Interleaved<Run>, p: "p50" | "p99") =>
  result.rounds.map((r) => r.ours[p] - r.baseline[p]).sort((a, b) => a - b);
const medianOf = (values: number[]) => values[Math.floor((values.length - 1) / 2)] ?? Number.NaN;

export async function runP7(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds = pick(ctx, 6, 2);
  const floorRounds = pick(ctx, 4, 1);
  const sequential = pick(ctx, 150, 40);
  const parallel = pick(ctx, 400, 80);
  const system = await startSystem(ctx.settings, { env: THROUGHPUT_ENV });
  let floor: Awaited<ReturnType<typeof startFloor>> | undefined;
  try {
    const tenant = await createTenant(system, "bench-p7");
    const { composioAccountId } = await connectAccount(system, tenant, BENCH_USER);
    const ours = oursCall(system, tenant);
    const direct = directCall(system, tenant, composioAccountId);
    floor = await startFloor(ctx, system, tenant, composioAccountId);
    const floorCall = floor.call;
    // Warm the paths (JIT, prepared statements, the gateway's caches).
    await timed(pick(ctx, 100, 20), 4, ours);
    await timed(pick(ctx, 100, 20), 4, direct);
    await timed(pick(ctx, 100, 20), 4, floorCall);

    const floorProcs = floor.procs;
    const measure = async (call: () => Promise<boolean>, total: number, inFlight: number, withCpu: boolean): Promise<Run> => {
      const watched = [...system.services(), ...(system.procs.emulator ? [system.procs.emulator] : []), ...floorProcs];
      const cpu = withCpu ? new CpuWindow(watched) : null;
      const { latencies, failed } = await timed(total, inFlight, call);
      const s = summarize(latencies);
      return { p50: s.p50, p99: s.p99, failed, cpu: cpu?.end() ?? {} };
    };

    const figures: Figure[] = [];
    const details: Record<string, unknown> = {};
    for (const [label, total, inFlight] of [
      ["sequential", sequential, 1],
      ["8 in flight", parallel, 8],
    ] as const) {
      ctx.log(`P7 ${label}: ${rounds} rounds of ${total} calls each side`);
      const result = await interleave(
        rounds,
        () => measure(ours, total, inFlight, true),
        () => measure(direct, total, inFlight, true),
        ctx.log,
      );
      ctx.log(`P7 floor ${label}: ${floorRounds} rounds of ${total} calls each side`);
      const floorResult = await interleave(
        floorRounds,
        () => measure(floorCall, total, inFlight, false),
        () => measure(direct, total, inFlight, false),
        ctx.log,
      );
      for (const [p, target] of [
        ["p50", 3],
        ["p99", 10],
      ] as const) {
        const per = overheadOf(result, p);
        const floorPer = overheadOf(floorResult, p);
        const ratio = result.ratio((r) => r[p]);
        figures.push({
          id: "P7",
          figure: `${label}: overhead at ${p} (ours − direct)`,
          unit: "ms",
          ours: r2(result.median("ours", (r) => r[p])),
          baseline: r2(result.median("baseline", (r) => r[p])),
          ratio: ratio.median,
          spread: ratio.spread,
          target: `overhead ≤ ${target} ms`,
          pass: medianOf(per) <= target,
          note:
            `overhead ${r2(medianOf(per))} ms (rounds ${r2(per[0] ?? Number.NaN)}–${r2(per.at(-1) ?? Number.NaN)}); ` +
            `ours − floor: ${r2(medianOf(per) - medianOf(floorPer))} ms`,
        });
        const floorRatio = floorResult.ratio((r) => r[p]);
        figures.push({
          id: "P7 floor",
          figure: `${label}: floor's overhead at ${p} (durable INSERT, list hop, call, durable outcome, wake-up)`,
          unit: "ms",
          ours: r2(floorResult.median("ours", (r) => r[p])),
          baseline: r2(floorResult.median("baseline", (r) => r[p])),
          ratio: floorRatio.median,
          spread: floorRatio.spread,
          pass: null,
          note: `overhead ${r2(medianOf(floorPer))} ms (rounds ${r2(floorPer[0] ?? Number.NaN)}–${r2(floorPer.at(-1) ?? Number.NaN)})`,
        });
      }
      const failed = result.rounds.reduce((n, r) => n + r.ours.failed + r.baseline.failed, 0);
      if (failed > 0) figures.push({ id: "P7", figure: `${label}: failed calls`, unit: "count", ours: failed, pass: false, target: "0" });
      const floorFailed = floorResult.rounds.reduce((n, r) => n + r.ours.failed + r.baseline.failed, 0);
      if (floorFailed > 0) figures.push({ id: "P7 floor", figure: `${label}: failed calls`, unit: "count", ours: floorFailed, pass: null });
      details[label] = result.rounds;
      details[`floor ${label}`] = floorResult.rounds;
    }

    const result: ScenarioResult = {
      scenario: "P7",
      title: "An agent's synchronous call",
      available: true,
      figures,
      cpu: {
        ours: (details.sequential as Array<{ ours: Run }>)[0]!.ours.cpu,
        baseline: (details.sequential as Array<{ baseline: Run }>)[0]!.baseline.cpu,
      },
      details,
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      await floor.stop();
      floor = undefined;
      ctx.log("P7 missed a target: where a sequential call's time goes (latency marks)");
      const steps = await markedRun(ctx, sequential);
      ctx.log(formatBreakdown(steps));
      details.breakdown = steps;
      ctx.log("P7: profiling the gateway and the worker under the sequential load");
      result.profile = await profiled(
        ctx,
        ["gateway", "worker"],
        { services: ["gateway", "worker", "webhooks"], env: THROUGHPUT_ENV },
        async (s, loadStarts) => {
          const t = await createTenant(s, "bench-p7-profile");
          await connectAccount(s, t, BENCH_USER);
          const call = oursCall(s, t);
          await timed(50, 1, call);
          loadStarts();
          await timed(sequential, 1, call);
        },
      );
    }
    return result;
  } finally {
    await floor?.stop();
    await system.stop();
  }
}
