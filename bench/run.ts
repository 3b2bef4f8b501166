// The benchmark of issue 5: runs the scenarios (ours against a bare baseline, interleaved), prints the table and
// writes bench/results.json. Usage: node bench/run.ts [--quick] [--only P1,P3] [--no-profile]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, freemem, totalmem } from "node:os";
import type { BenchContext } from "./lib/context.ts";
import { stopAll } from "./lib/proc.ts";
import { type ScenarioResult, table } from "./lib/report.ts";
import { resetBenchDatabase, settingsFromEnv } from "./lib/system.ts";
import { runP1 } from "./scenarios/p1.ts";
import { runP2 } from "./scenarios/p2.ts";
import { runP3 } from "./scenarios/p3.ts";
import { runP4 } from "./scenarios/p4.ts";
import { runP5 } from "./scenarios/p5.ts";
import { runP6 } from "./scenarios/p6.ts";
import { runP7 } from "./scenarios/p7.ts";
import { runP8 } from "./scenarios/p8.ts";
import { runP9 } from "./scenarios/p9.ts";

const SCENARIOS: Record<string, { title: string; run: (ctx: BenchContext) => Promise<ScenarioResult> }> = {
  P1: { title: "Accepting work", run: runP1 },
  P2: { title: "The whole pipeline", run: runP2 },
  P3: { title: "Event latency", run: runP3 },
  P4: { title: "Fan-out", run: runP4 },
  P5: { title: "Footprint", run: runP5 },
  P6: { title: "Composio budget", run: runP6 },
  P7: { title: "An agent's synchronous call", run: runP7 },
  P8: { title: "An agent's call over MCP", run: runP8 },
  P9: { title: "Outbound webhooks", run: runP9 },
};

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[i + 1];
};
const quick = args.includes("--quick");
const only = (arg("--only") ?? Object.keys(SCENARIOS).join(","))
  .split(",")
  .map((s) => s.trim().toUpperCase())
  .filter(Boolean);
for (const id of only) if (!SCENARIOS[id]) throw new Error(`Unknown scenario ${id} (known: ${Object.keys(SCENARIOS).join(", ")})`);

const started = Date.now();
const log = (line: string) => process.stderr.write(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${line}\n`);
const ctx: BenchContext = {
  settings: settingsFromEnv(),
  quick,
  profileDir: "bench/profiles",
  profileOnMiss: !args.includes("--no-profile"),
  log,
};

const machine = {
  cpu_model: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  free_memory_gib: Math.round((freemem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
const CAVEAT =
  `The load generators run on the same ${machine.cores} cores as the services, Redis and Postgres: absolute figures ` +
  "depend on the machine's current speed; ratios come from interleaved rounds (A B A B) of ours and a bare baseline. " +
  "CPU columns: percent of one core (generator = this process and its socket-holder children).";

process.on("SIGINT", () => {
  void stopAll().then(() => process.exit(130));
});

log(`${quick ? "QUICK" : "FULL"} run of ${only.join(", ")} on ${machine.cpu_model} (${machine.cores} cores), Node ${machine.node}`);
log(CAVEAT);
if (await resetBenchDatabase(ctx.settings.databaseUrl)) log("emptied the benchmark database");

const results: ScenarioResult[] = [];
for (const id of only) {
  const scenario = SCENARIOS[id]!;
  log(`=== ${id} ${scenario.title}`);
  try {
    results.push(await scenario.run(ctx));
  } catch (error) {
    log(`${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    results.push({
      scenario: id,
      title: scenario.title,
      available: false,
      reason: `failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
      figures: [],
    });
  }
  await stopAll();
}

const runDate = new Date().toISOString();
for (const s of results) s.date = runDate;
// A run of some scenarios (--only) keeps the others' last results, each with its own date; a quick run replaces none
// of a full run's.
const earlier = previousResults();
const kept = earlier && !quick && earlier.mode === "full" ? earlier.scenarios.filter((s) => !only.includes(s.scenario.toUpperCase())) : [];
const all = [...kept, ...results].sort((a, b) => a.scenario.localeCompare(b.scenario, "en", { numeric: true }));

const output = {
  date: runDate,
  mode: quick ? "quick" : "full",
  duration_s: Math.round((Date.now() - started) / 1000),
  machine,
  caveat: CAVEAT,
  scenarios_run: only,
  figures: all.flatMap((s) =>
    s.available
      ? s.figures.map((f) => ({
          scenario: s.scenario,
          ...f,
          baseline: f.baseline ?? null,
          ratio: f.ratio ?? null,
          spread: f.spread ?? null,
        }))
      : [
          {
            scenario: s.scenario,
            id: s.scenario,
            figure: s.title,
            unit: "",
            ours: null,
            baseline: null,
            ratio: null,
            spread: null,
            pass: null,
            note: `not available: ${s.reason}`,
          },
        ],
  ),
  scenarios: all,
};
mkdirSync("bench", { recursive: true });
if (quick && earlier?.mode === "full") {
  log("a quick run does not replace a full run's results: bench/results.json left as it was");
} else {
  writeFileSync("bench/results.json", `${JSON.stringify(output, null, 2)}\n`);
}

process.stdout.write(`\nKronos Connect benchmark, ${output.date} (${output.mode}, ${output.duration_s}s)\n`);
process.stdout.write(`${machine.cpu_model}, ${machine.cores} cores, ${machine.memory_gib} GiB, Node ${machine.node}\n`);
process.stdout.write(`NOTE: ${CAVEAT}\n\n`);
process.stdout.write(`${table(results)}\n\n`);
for (const s of results) {
  if (!s.cpu) continue;
  const parts = Object.entries(s.cpu).map(
    ([side, shares]) =>
      `${side}: ${Object.entries(shares)
        .map(([k, v]) => `${k} ${v}%`)
        .join(", ")}`,
  );
  process.stdout.write(`CPU during ${s.scenario} (first round): ${parts.join(" | ")}\n`);
}
const misses = results.flatMap((s) => s.figures.filter((f) => f.pass === false).map((f) => `${f.id} ${f.figure}`));
process.stdout.write(`\n${misses.length === 0 ? "Every target met." : `Missed: ${misses.join("; ")}`}\n`);

/** The results file as the last run left it (null when there is none, or it cannot be read). */
function previousResults(): { mode: string; scenarios: ScenarioResult[] } | null {
  try {
    const parsed = JSON.parse(readFileSync("bench/results.json", "utf8")) as { mode?: string; date?: string; scenarios?: ScenarioResult[] };
    if (!Array.isArray(parsed.scenarios)) return null;
    // Results written before each scenario carried its date have the run's.
    return { mode: parsed.mode ?? "full", scenarios: parsed.scenarios.map((s) => ({ ...s, date: s.date ?? parsed.date })) };
  } catch {
    return null;
  }
}
