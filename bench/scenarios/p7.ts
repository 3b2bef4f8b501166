// P7 — an agent's call through us: POST /api/v1/composio/tools/execute?wait=10 for a connected toolkit (accept,
// queue, worker, Composio, stored, the waiting request woken, 200 with the result), against the same call made
// straight to Composio (the emulator at 0 ms), interleaved, sequentially and with 8 in flight. The figure that
// matters is our overhead: ours minus the direct call, at p50 and p99 (target ≤ 3 ms and ≤ 10 ms).
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { interleave } from "../lib/interleave.ts";
import { bounded, post } from "../lib/load.ts";
import { CpuWindow } from "../lib/proc.ts";
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

export async function runP7(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds = pick(ctx, 6, 2);
  const sequential = pick(ctx, 150, 40);
  const parallel = pick(ctx, 400, 80);
  const system = await startSystem(ctx.settings, { env: THROUGHPUT_ENV });
  try {
    const tenant = await createTenant(system, "bench-p7");
    const { composioAccountId } = await connectAccount(system, tenant, BENCH_USER);
    const ours = oursCall(system, tenant);
    const direct = directCall(system, tenant, composioAccountId);
    // Warm both paths (JIT, prepared statements, the gateway's caches).
    await timed(pick(ctx, 100, 20), 4, ours);
    await timed(pick(ctx, 100, 20), 4, direct);

    const measure = async (call: () => Promise<boolean>, total: number, inFlight: number, withCpu: boolean): Promise<Run> => {
      const cpu = withCpu ? new CpuWindow([...system.services(), ...(system.procs.emulator ? [system.procs.emulator] : [])]) : null;
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
      const overhead = (p: "p50" | "p99") => result.rounds.map((r) => r.ours[p] - r.baseline[p]).sort((a, b) => a - b);
      const medianOf = (values: number[]) => values[Math.floor((values.length - 1) / 2)] ?? Number.NaN;
      for (const [p, target] of [
        ["p50", 3],
        ["p99", 10],
      ] as const) {
        const per = overhead(p);
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
          note: `overhead ${r2(medianOf(per))} ms (rounds ${r2(per[0] ?? Number.NaN)}–${r2(per.at(-1) ?? Number.NaN)})`,
        });
      }
      const failed = result.rounds.reduce((n, r) => n + r.ours.failed + r.baseline.failed, 0);
      if (failed > 0) figures.push({ id: "P7", figure: `${label}: failed calls`, unit: "count", ours: failed, pass: false, target: "0" });
      details[label] = result.rounds;
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
      ctx.log("P7 missed a target: profiling the gateway and the worker under the sequential load");
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
    await system.stop();
  }
}
