// P2 — the whole pipeline: executions completed per second from HTTP accept → worker → emulator (0 ms) →
// execution row SUCCEEDED in Postgres → `execution.completed` on a socket, against a bare BullMQ add + no-op worker
// at the same concurrency (completion seen through QueueEvents). Both closed loop with 32 requests/adds in flight.
// Loss check: every accepted execution id must reach the socket and have a SUCCEEDED row.
// Floor (at the main concurrency, in rounds of its own against the same baseline): bare BullMQ jobs that each call the
// emulator, INSERT the execution durably and publish its completion (bench/baselines/floor-worker.ts): the least any
// implementation of this pipeline pays per execution, without our HTTP accept, socket, retries or audit.
import { randomBytes, randomUUID } from "node:crypto";
import { createRedis, DEFAULT_JOB_OPTIONS, JOBS, QUEUES } from "@kronos/shared";
import pg from "pg";
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { bullmq } from "../lib/deps.ts";
import { interleave } from "../lib/interleave.ts";
import { bounded, post } from "../lib/load.ts";
import { CpuWindow, type Proc, sleep, startProc } from "../lib/proc.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { openSocket, wsUrl } from "../lib/sockets.ts";
import { median, r2, summarize } from "../lib/stats.ts";
import { type BenchSettings, connectAccount, createTenant, deleteKeys, type System, startSystem, type Tenant } from "../lib/system.ts";
import { BENCH_USER, EXECUTE_PATH, executeBody, THROUGHPUT_ENV, TOOL } from "./common.ts";

const IN_FLIGHT = 32;
const DEFAULT_CONCURRENCY = 10;

export interface PipelineRun {
  perSecond: number;
  accepted: number;
  refused: number;
  lost: number;
  /** Accept → socket, per execution. */
  p50: number;
  p99: number;
  seconds: number;
  cpu: Record<string, number>;
}

/** Sends `n` executions through our pipeline and waits for each on the socket and in Postgres. */
export async function pipelineOurs(settings: BenchSettings, system: System, tenant: Tenant, n: number): Promise<PipelineRun> {
  const seen = new Map<string, number>();
  const socket = await openSocket(
    { url: wsUrl(system.webhooksUrl, "/ws"), headers: { authorization: `Bearer ${tenant.apiKey}` } },
    (data, at) => {
      if (!data.includes('"execution.completed"')) return;
      const event = JSON.parse(data) as { type: string; data?: { execution_id?: string } };
      if (event.type === "execution.completed" && event.data?.execution_id) seen.set(event.data.execution_id, at);
    },
  );
  const sentAt = new Map<string, number>();
  let refused = 0;
  const body = executeBody();
  const headers = { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" };
  const cpu = new CpuWindow([...system.services(), ...(system.procs.emulator ? [system.procs.emulator] : [])]);
  const t0 = performance.now();
  await bounded(n, IN_FLIGHT, async () => {
    const at = performance.now();
    const response = await post(`${system.gatewayUrl}${EXECUTE_PATH}`, headers, body);
    const answer = JSON.parse(response.body) as { execution_id?: string };
    if (response.status === 202 && answer.execution_id) sentAt.set(answer.execution_id, at);
    else refused += 1;
  });
  // Wait for every accepted execution on the socket (give up after 30 s without progress).
  let last = -1;
  let stalledSince = performance.now();
  while ([...sentAt.keys()].some((id) => !seen.has(id))) {
    if (seen.size !== last) {
      last = seen.size;
      stalledSince = performance.now();
    } else if (performance.now() - stalledSince > 30_000) break;
    await sleep(20);
  }
  const ids = [...sentAt.keys()];
  const ends = ids.map((id) => seen.get(id)).filter((x): x is number => x !== undefined);
  const elapsed = (Math.max(...ends, t0) - t0) / 1000;
  const cpuShares = cpu.end();
  socket.terminate();
  const client = new pg.Client({ connectionString: settings.databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ id: string }>("select id from executions where id = any($1::uuid[]) and status = 'SUCCEEDED'", [
    ids,
  ]);
  await client.end();
  const succeeded = new Set(rows.map((r) => r.id));
  const lost = ids.filter((id) => !seen.has(id) || !succeeded.has(id)).length;
  const e2e = summarize(ids.filter((id) => seen.has(id)).map((id) => (seen.get(id) as number) - (sentAt.get(id) as number)));
  return {
    perSecond: ends.length / elapsed,
    accepted: ids.length,
    refused,
    lost,
    p50: e2e.p50,
    p99: e2e.p99,
    seconds: elapsed,
    cpu: cpuShares,
  };
}

/** CPU ms per execution of each process, from a run's CPU shares (percent of one core) and its rate. */
const cpuMsPerExecution = (run: PipelineRun): Record<string, number> =>
  Object.fromEntries(Object.entries(run.cpu).map(([name, share]) => [name, r2((share * 10) / run.perSecond)]));

/**
 * What one execution costs the machine (every process: ours, the emulator, Postgres, Redis, the generator), ours and
 * the baseline's, and what that allows on two cores at best: the bound that the throughput ratio cannot beat.
 */
function cpuPerExecution(rounds: Array<{ ours: PipelineRun; baseline: PipelineRun }>): Figure {
  const ours = rounds.map((r) => cpuMsPerExecution(r.ours));
  const baseline = rounds.map((r) => cpuMsPerExecution(r.baseline));
  const oursMs = median(ours.map((c) => c.machine ?? 0));
  const baseMs = median(baseline.map((c) => c.machine ?? 0));
  const first = ours[0] ?? {};
  const parts = Object.entries(first)
    .filter(([name]) => name !== "machine")
    .map(([name, ms]) => `${name} ${ms}`)
    .join(", ");
  return {
    id: "P2",
    figure: "machine CPU per execution (all processes)",
    unit: "ms",
    ours: oursMs,
    baseline: baseMs,
    ratio: baseMs > 0 ? r2(oursMs / baseMs) : null,
    spread: null,
    pass: null,
    note: `ours by process (first round, ms): ${parts}; 2 cores allow at most ${oursMs > 0 ? Math.round(2000 / oursMs) : "?"} exec/s`,
  };
}

/** The baseline: `n` BullMQ adds (32 in flight) to a bare no-op worker, until QueueEvents reported each completed. */
async function pipelineBaseline(settings: BenchSettings, prefix: string, worker: Proc, n: number): Promise<PipelineRun> {
  const connection = createRedis(settings.redisUrl);
  const blocking = createRedis(settings.redisUrl);
  const defaultJobOptions = { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff } };
  const queue = new bullmq.Queue(QUEUES.toolExecution, { connection, prefix, defaultJobOptions });
  const events = new bullmq.QueueEvents(QUEUES.toolExecution, { connection: blocking, prefix });
  await events.waitUntilReady();
  const sentAt = new Map<string, number>();
  const done = new Map<string, number>();
  events.on("completed", ({ jobId }: { jobId: string }) => {
    if (sentAt.has(jobId)) done.set(jobId, performance.now());
  });
  const cpu = new CpuWindow([{ name: worker.name, pid: worker.pid }]);
  const t0 = performance.now();
  await bounded(n, IN_FLIGHT, async () => {
    const id = randomUUID();
    sentAt.set(id, performance.now());
    await queue.add(
      JOBS.executeTool,
      { executionId: id, tenantId: id, userId: BENCH_USER, toolSlug: "X", arguments: {}, actor: "bench" },
      { jobId: id, attempts: 5 },
    );
  });
  let last = -1;
  let stalledSince = performance.now();
  while (done.size < n) {
    if (done.size !== last) {
      last = done.size;
      stalledSince = performance.now();
    } else if (performance.now() - stalledSince > 30_000) break;
    await sleep(10);
  }
  const elapsed = (Math.max(...done.values(), t0) - t0) / 1000;
  const cpuShares = cpu.end();
  await events.close();
  await queue.close();
  connection.disconnect();
  blocking.disconnect();
  const e2e = summarize([...done.entries()].map(([id, at]) => at - (sentAt.get(id) as number)));
  return {
    perSecond: done.size / elapsed,
    accepted: n,
    refused: 0,
    lost: n - done.size,
    p50: e2e.p50,
    p99: e2e.p99,
    seconds: elapsed,
    cpu: cpuShares,
  };
}

interface FloorOptions {
  system: System;
  accountId: string;
  /** The bare no-op worker, already running at `concurrency`. */
  worker: Proc;
  rounds: number;
  n: number;
  concurrency: number;
  baseEnv: Record<string, string>;
}

/** The floor worker against the no-op baseline, interleaved; its table and queue are its own and removed after. */
async function floorRounds(ctx: BenchContext, o: FloorOptions) {
  const floorPrefix = `benchfloor${randomBytes(4).toString("hex")}`;
  const table = `${floorPrefix}_executions`; // its own, so that runs sharing the database do not meet
  const db = new pg.Client({ connectionString: ctx.settings.databaseUrl });
  await db.connect();
  let floorWorker: Proc | undefined;
  try {
    await db.query(
      `CREATE TABLE ${table} (id uuid PRIMARY KEY, status text NOT NULL, result jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    floorWorker = await startProc("floor-worker", "bench/baselines/floor-worker.ts", {
      env: {
        ...o.baseEnv,
        REDIS_KEY_PREFIX: floorPrefix,
        WORKER_CONCURRENCY: String(o.concurrency),
        DATABASE_URL: ctx.settings.databaseUrl,
        EMULATOR_URL: o.system.emulatorUrl,
        COMPOSIO_API_KEY: o.system.env.COMPOSIO_API_KEY ?? "",
        CONNECTED_ACCOUNT_ID: o.accountId,
        TOOL,
        FLOOR_TABLE: table,
      },
      ready: { line: "floor worker ready" },
    });
    const floorProc = floorWorker;
    const basePrefix = o.baseEnv.REDIS_KEY_PREFIX ?? "benchbase";
    await pipelineBaseline(ctx.settings, floorPrefix, floorProc, Math.min(500, o.n)); // warm-up
    return await interleave(
      o.rounds,
      () => pipelineBaseline(ctx.settings, floorPrefix, floorProc, o.n * 2),
      () => pipelineBaseline(ctx.settings, basePrefix, o.worker, o.n * 4),
      ctx.log,
    );
  } finally {
    await floorWorker?.stop();
    await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await db.end();
    await deleteKeys(ctx.settings.redisUrl, floorPrefix);
  }
}

function floorFigures(floor: Awaited<ReturnType<typeof floorRounds>>, oursPerSecond: number): Figure[] {
  const ratio = floor.ratio((r) => r.perSecond);
  const floorPerSecond = floor.median("ours", (r) => r.perSecond);
  const cpu = (side: "ours" | "baseline") => median(floor.rounds.map((r) => cpuMsPerExecution(r[side]).machine ?? 0));
  return [
    {
      id: "P2 floor",
      figure: "executions/s with only a Composio call, a durable INSERT and a publish per job",
      unit: "exec/s",
      ours: Math.round(floorPerSecond),
      baseline: Math.round(floor.median("baseline", (r) => r.perSecond)),
      ratio: ratio.median,
      spread: ratio.spread,
      pass: null,
      note: `ours / floor: ${r2(oursPerSecond / floorPerSecond)}×; machine CPU per execution ${cpu("ours")} ms vs ${cpu("baseline")} ms; lost ${floor.rounds.reduce((n, r) => n + r.ours.lost, 0)}`,
    },
  ];
}

export async function runP2(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds = pick(ctx, 3, 1);
  const scaleRounds = pick(ctx, 2, 1);
  const mainN = pick(ctx, 1000, 300);
  const levels = pick(ctx, [1, 2, 4, 8], [1, 8]);
  const perLevel = (c: number) => pick(ctx, 125 * c, 50 * c);
  const BASE_FACTOR = 4; // the baseline is much faster: more jobs, so that its run is not a few milliseconds long

  const system = await startSystem(ctx.settings, { env: THROUGHPUT_ENV });
  const basePrefix = `benchbase${randomBytes(4).toString("hex")}`;
  const baseEnv = { PATH: process.env.PATH ?? "", REDIS_URL: ctx.settings.redisUrl, REDIS_KEY_PREFIX: basePrefix };
  let bareWorker: Proc | undefined;
  try {
    const tenant = await createTenant(system, "bench-p2");
    const { composioAccountId } = await connectAccount(system, tenant, BENCH_USER);
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {};
    let firstCpu: ScenarioResult["cpu"];
    let totalLost = 0;
    let totalAccepted = 0;
    for (const c of [DEFAULT_CONCURRENCY, ...levels]) {
      const isMain = c === DEFAULT_CONCURRENCY;
      const n = isMain ? mainN : perLevel(c);
      ctx.log(`P2 worker concurrency ${c}: ${n} executions (baseline ${n * BASE_FACTOR} jobs)`);
      await system.restartWorker({ WORKER_CONCURRENCY: String(c) });
      await bareWorker?.stop();
      bareWorker = await startProc("bare-worker", "bench/baselines/worker.ts", {
        env: { ...baseEnv, WORKER_CONCURRENCY: String(c) },
        ready: { line: "bare worker ready" },
      });
      // Warm-up (not recorded): JIT, connection pools.
      await pipelineOurs(ctx.settings, system, tenant, Math.min(100, n));
      await pipelineBaseline(ctx.settings, basePrefix, bareWorker, Math.min(500, n));
      const worker = bareWorker;
      const result = await interleave(
        isMain ? rounds : scaleRounds,
        () => pipelineOurs(ctx.settings, system, tenant, n),
        () => pipelineBaseline(ctx.settings, basePrefix, worker, n * BASE_FACTOR),
        ctx.log,
      );
      const ratio = result.ratio((r) => r.perSecond);
      const lost = result.rounds.reduce((sum, r) => sum + r.ours.lost + r.ours.refused, 0);
      totalLost += lost;
      totalAccepted += result.rounds.reduce((sum, r) => sum + r.ours.accepted, 0);
      const note = `accept→socket p50 ${r2(result.median("ours", (r) => r.p50))} ms, p99 ${r2(result.median("ours", (r) => r.p99))} ms`;
      figures.push({
        id: isMain ? "P2" : `P2@c${c}`,
        figure: `executions completed/s, worker concurrency ${c}`,
        unit: "exec/s",
        ours: Math.round(result.median("ours", (r) => r.perSecond)),
        baseline: Math.round(result.median("baseline", (r) => r.perSecond)),
        ratio: ratio.median,
        spread: ratio.spread,
        ...(isMain ? { target: "≥ 0.5× baseline", pass: ratio.median >= 0.5 } : { pass: null }),
        note,
      });
      if (isMain) {
        firstCpu = { ours: result.rounds[0]!.ours.cpu, baseline: result.rounds[0]!.baseline.cpu };
        figures.push(cpuPerExecution(result.rounds));
        ctx.log(`P2 floor at concurrency ${c}: Composio call + durable INSERT + publish per bare job`);
        const floor = await floorRounds(ctx, { system, accountId: composioAccountId, worker, rounds, n, concurrency: c, baseEnv });
        figures.push(
          ...floorFigures(
            floor,
            result.median("ours", (r) => r.perSecond),
          ),
        );
        details.floor = floor.rounds;
      }
      details[`c${c}`] = result.rounds;
    }
    figures.splice(1, 0, {
      id: "P2",
      figure: "lost executions (no socket event or no SUCCEEDED row)",
      unit: "count",
      ours: totalLost,
      target: "0",
      pass: totalLost === 0,
      note: `of ${totalAccepted} accepted`,
    });
    const result: ScenarioResult = {
      scenario: "P2",
      title: "The whole pipeline",
      available: true,
      figures,
      details,
      ...(firstCpu ? { cpu: firstCpu } : {}),
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      ctx.log("P2 missed a target: profiling the worker and the gateway under the same load");
      result.profile = await profiled(ctx, ["worker", "gateway", "webhooks"], { env: THROUGHPUT_ENV }, async (s, loadStarts) => {
        const t = await createTenant(s, "bench-p2-profile");
        await connectAccount(s, t, BENCH_USER);
        await pipelineOurs(ctx.settings, s, t, 100);
        loadStarts();
        await pipelineOurs(ctx.settings, s, t, mainN);
      });
    }
    return result;
  } finally {
    await bareWorker?.stop();
    await system.stop();
    await deleteKeys(ctx.settings.redisUrl, basePrefix);
  }
}
