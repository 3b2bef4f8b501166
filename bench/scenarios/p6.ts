// P6 — the Composio budget: 400 executions with COMPOSIO_REQUESTS_PER_MINUTE=1200 (ours) while the emulator itself
// limits at 1,200 requests/min (EMULATOR_RATE_LIMIT_PER_MINUTE). Every execution must complete, the emulator must
// never have answered 429, no 60 s window may hold more than 1,200 accepted requests, and the run must take at
// least as long as the budget implies for the requests it made. BENCH_P6_EXECUTIONS overrides 400 (e.g. 1500 makes
// the budget bind: at least 60 s).
import type { BenchContext } from "../lib/context.ts";
import { profiled } from "../lib/profile.ts";
import type { Figure, ScenarioResult } from "../lib/report.ts";
import { r2 } from "../lib/stats.ts";
import { connectAccount, createTenant, startSystem } from "../lib/system.ts";
import { BENCH_USER } from "./common.ts";
import { pipelineOurs } from "./p2.ts";

const BUDGET = 1200;

interface RateLimitSnapshot {
  per_minute: number | null;
  answered_429: number;
  max_in_any_window: number;
}

export async function runP6(ctx: BenchContext, env = process.env): Promise<ScenarioResult> {
  const executions = Number(env.BENCH_P6_EXECUTIONS ?? 400);
  const budgetEnv = { EMULATOR_RATE_LIMIT_PER_MINUTE: String(BUDGET), COMPOSIO_REQUESTS_PER_MINUTE: String(BUDGET) };
  const system = await startSystem(ctx.settings, { env: budgetEnv });
  try {
    const probe = await fetch(`${system.emulatorUrl}/_emulator/rate-limit`);
    if (!probe.ok) {
      return {
        scenario: "P6",
        title: "Composio budget",
        available: false,
        reason: `GET /_emulator/rate-limit answered ${probe.status}`,
        figures: [],
      };
    }
    const tenant = await createTenant(system, "bench-p6");
    await connectAccount(system, tenant, BENCH_USER);
    const requestsBefore = ((await (await fetch(`${system.emulatorUrl}/_emulator/requests`)).json()) as { items: unknown[] }).items.length;
    ctx.log(`P6: ${executions} executions within ${BUDGET} requests/min (${requestsBefore} Composio requests made by the set-up)`);
    const t0 = performance.now();
    const run = await pipelineOurs(ctx.settings, system, tenant, executions);
    const tookS = (performance.now() - t0) / 1000;
    const limit = (await (await fetch(`${system.emulatorUrl}/_emulator/rate-limit`)).json()) as RateLimitSnapshot;
    const requests = ((await (await fetch(`${system.emulatorUrl}/_emulator/requests`)).json()) as { items: unknown[] }).items.length;
    // A sliding window admits BUDGET requests at once; each further BUDGET needs another full window.
    const impliedS = Math.max(0, Math.ceil(requests / BUDGET) - 1) * 60;
    const completed = run.accepted - run.lost;
    const figures: Figure[] = [
      {
        id: "P6",
        figure: "executions completed",
        unit: "count",
        ours: completed,
        target: `all ${executions}`,
        pass: completed === executions && run.refused === 0,
        note: `${r2(tookS)} s for ${requests - requestsBefore} execution requests (${requests} Composio requests in all); the budget implies ≥ ${impliedS} s`,
      },
      {
        id: "P6",
        figure: "429 answered by the emulator",
        unit: "count",
        ours: limit.answered_429,
        target: "0",
        pass: limit.answered_429 === 0,
      },
      {
        id: "P6",
        figure: "most requests in any 60 s window",
        unit: "req",
        ours: limit.max_in_any_window,
        target: `≤ ${BUDGET}`,
        pass: limit.max_in_any_window <= BUDGET,
      },
      {
        id: "P6",
        figure: "run time vs. budget-implied minimum",
        unit: "s",
        ours: r2(tookS),
        baseline: impliedS,
        target: "≥ implied",
        pass: tookS >= impliedS,
      },
    ];
    const out: ScenarioResult = {
      scenario: "P6",
      title: "Composio budget",
      available: true,
      figures,
      cpu: { ours: run.cpu },
      details: { run, limit, requests, requestsBefore },
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      ctx.log("P6 missed a target: profiling the worker");
      out.profile = await profiled(ctx, ["worker"], { env: budgetEnv }, async (s, loadStarts) => {
        const t = await createTenant(s, "bench-p6-profile");
        await connectAccount(s, t, BENCH_USER);
        loadStarts();
        await pipelineOurs(ctx.settings, s, t, executions);
      });
    }
    return out;
  } finally {
    await system.stop();
  }
}
