// P8 — an agent's call over MCP: `tools/call` on /mcp (an agent session's token, the protocol session from a real
// `initialize`) for a connected toolkit, against the same tool through REST, `POST tools/execute?wait=10` with an API
// key, interleaved, sequentially. Both go through the same pipeline (accept, queue, worker, Composio, the waiting
// request woken); what P8 measures is what MCP adds: the session lookup in Postgres, the protocol session in Redis,
// the SDK's transport and server per request, the catalogue read that checks the tool is the session's, and the SSE
// answer. Target: ≤ 1.5× REST's time at p50 and p99. Both sides use the same HTTP client (node:http, kept alive).
import type { BenchContext } from "../lib/context.ts";
import { pick } from "../lib/context.ts";
import { interleave } from "../lib/interleave.ts";
import { post } from "../lib/load.ts";
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

async function sequentially(total: number, call: () => Promise<boolean>): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  for (let i = 0; i < total; i += 1) {
    const t0 = performance.now();
    const ok = await call();
    latencies.push(performance.now() - t0);
    if (!ok) failed += 1;
  }
  return { latencies, failed };
}

/** The baseline: REST's synchronous call, as P7 makes it. */
function restCall(system: System, tenant: Tenant) {
  const url = `${system.gatewayUrl}${EXECUTE_PATH}?wait=10`;
  const headers = { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" };
  const body = executeBody();
  return async () => {
    const answer = await post(url, headers, body);
    return answer.status === 200 && answer.body.includes('"status":"SUCCEEDED"');
  };
}

/** An agent session for the bench user and an initialized MCP protocol session on it: the headers of every call. */
async function mcpSession(system: System, tenant: Tenant): Promise<Record<string, string>> {
  const opened = await post(
    `${system.gatewayUrl}/api/v1/agent-sessions`,
    { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" },
    JSON.stringify({ user_id: BENCH_USER, toolkits: ["github"], ttl_seconds: 86_400 }),
  );
  if (opened.status !== 201) throw new Error(`opening an agent session answered ${opened.status}: ${opened.body}`);
  const token = (JSON.parse(opened.body) as { token: string }).token;
  const headers = { authorization: `Bearer ${token}`, accept: "application/json, text/event-stream", "content-type": "application/json" };
  const init = await fetch(`${system.gatewayUrl}/mcp`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
    }),
  });
  const sessionId = init.headers.get("mcp-session-id");
  await init.text();
  if (init.status !== 200 || !sessionId) throw new Error(`initialize answered ${init.status}`);
  return { ...headers, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
}

/** Our side: tools/call with a new request id each time (the same id again would be an idempotent replay). */
function mcpCall(system: System, headers: Record<string, string>) {
  const url = `${system.gatewayUrl}/mcp`;
  let id = 1;
  return async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: TOOL, arguments: {} } });
    const answer = await post(url, headers, body);
    return answer.status === 200 && answer.body.includes('"status":"SUCCEEDED"');
  };
}

export async function runP8(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds = pick(ctx, 6, 2);
  const total = pick(ctx, 150, 40);
  const system = await startSystem(ctx.settings, { env: THROUGHPUT_ENV });
  try {
    const tenant = await createTenant(system, "bench-p8");
    await connectAccount(system, tenant, BENCH_USER);
    const rest = restCall(system, tenant);
    const mcp = mcpCall(system, await mcpSession(system, tenant));
    // Warm both paths (JIT, prepared statements, the catalogue cache, the policy cache).
    await sequentially(pick(ctx, 100, 20), mcp);
    await sequentially(pick(ctx, 100, 20), rest);

    const measure = async (call: () => Promise<boolean>): Promise<Run> => {
      const cpu = new CpuWindow([...system.services(), ...(system.procs.emulator ? [system.procs.emulator] : [])]);
      const { latencies, failed } = await sequentially(total, call);
      const s = summarize(latencies);
      return { p50: s.p50, p99: s.p99, failed, cpu: cpu.end() };
    };

    ctx.log(`P8 sequential: ${rounds} rounds of ${total} calls each side`);
    const result = await interleave(
      rounds,
      () => measure(mcp),
      () => measure(rest),
      ctx.log,
    );
    const figures: Figure[] = [];
    for (const p of ["p50", "p99"] as const) {
      const ratio = result.ratio((r) => r[p]);
      figures.push({
        id: "P8",
        figure: `sequential tools/call vs tools/execute?wait: ${p}`,
        unit: "ms",
        ours: r2(result.median("ours", (r) => r[p])),
        baseline: r2(result.median("baseline", (r) => r[p])),
        ratio: ratio.median,
        spread: ratio.spread,
        target: "≤ 1.5×",
        pass: ratio.median <= 1.5,
      });
    }
    const failed = result.rounds.reduce((n, r) => n + r.ours.failed + r.baseline.failed, 0);
    figures.push({ id: "P8", figure: "failed calls", unit: "count", ours: failed, target: "0", pass: failed === 0 });

    const scenario: ScenarioResult = {
      scenario: "P8",
      title: "An agent's call over MCP",
      available: true,
      figures,
      cpu: { ours: result.rounds[0]!.ours.cpu, baseline: result.rounds[0]!.baseline.cpu },
      details: { rounds: result.rounds },
    };
    if (ctx.profileOnMiss && figures.some((f) => f.pass === false)) {
      ctx.log("P8 missed a target: profiling the gateway under the sequential MCP load");
      scenario.profile = await profiled(
        ctx,
        ["gateway"],
        { services: ["gateway", "worker", "webhooks"], env: THROUGHPUT_ENV },
        async (s, loadStarts) => {
          const t = await createTenant(s, "bench-p8-profile");
          await connectAccount(s, t, BENCH_USER);
          const call = mcpCall(s, await mcpSession(s, t));
          await sequentially(50, call);
          loadStarts();
          await sequentially(total, call);
        },
      );
    }
    return scenario;
  } finally {
    await system.stop();
  }
}
