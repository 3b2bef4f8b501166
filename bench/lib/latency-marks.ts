// Where the time of one synchronous call goes: the services' latency marks (LATENCY_MARKS_FILE, packages/shared
// latency-marks.ts) and the client's own send and receive times, per execution, turned into the steps of its path.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, r3 } from "./stats.ts";

/** The path of a P7 call, in order: client (c.), gateway (g.), worker (w.). See the marks in the services. */
export const P7_PATH = [
  "c.send",
  "g.handler",
  "g.policy",
  "g.recorded",
  "g.fairshare",
  "g.adding",
  "g.added",
  "w.picked",
  "w.run",
  "w.attempt",
  "w.composio",
  "w.recorded",
  "g.woken",
  "g.settled",
  "c.recv",
] as const;

/** What each step is, for the table. */
export const P7_STEPS: Record<string, string> = {
  "c.send → g.handler": "HTTP in, parse, API key, rate limit, validation",
  "g.handler → g.policy": "tool policy (cached)",
  "g.policy → g.recorded": "durable INSERT of the accept record (the fair-share priority asked meanwhile)",
  "g.recorded → g.fairshare": "rest of the fair-share round trip",
  "g.fairshare → g.adding": "the wait's subscription acknowledged",
  "g.adding → g.added": "BullMQ add (Lua)",
  "g.added → w.picked": "worker picks the job up (BullMQ marker, moveToActive)",
  "g.adding → w.picked": "worker picks the job up (before the add's answer came back)",
  "w.picked → w.run": "job checks, logger",
  "w.picked → g.added": "the add's answer, after the pick-up",
  "g.added → w.run": "job checks, logger",
  "w.run → w.attempt": "attempt row + connection lookup (one statement, asynchronous commit)",
  "w.attempt → w.composio": "rate budget (Redis) + Composio call (the direct call is the baseline)",
  "w.composio → w.recorded": "durable outcome (upsert, synchronous commit)",
  "w.recorded → g.woken": "execution.completed + wake-up (one Lua call) → gateway",
  "g.woken → g.settled": "answer from the view in the message (no read)",
  "g.settled → c.recv": "response serialised and sent",
};

export interface Step {
  step: string;
  what: string;
  calls: number;
  p50: number;
  mean: number;
  p99: number;
}

export interface Breakdown {
  calls: number;
  total: { p50: number; mean: number; p99: number };
  steps: Step[];
}

/** A directory for the services' mark files (LATENCY_MARKS_FILE=<dir>/marks), removed by `done`. */
export function marksDir(): { file: string; done(): void; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "kronos-marks-"));
  return { dir, file: join(dir, "marks"), done: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The steps of each call's path, from the services' marks in `dir` and the client's times per execution id. A call's
 * marks are ordered by time (the worker may pick a job up before the gateway hears its add succeeded); steps seen in
 * fewer than a tenth of the calls are left out.
 */
export function breakdown(dir: string, client: Map<string, [number, number]>): Breakdown {
  const marks = new Map<string, Record<string, number>>();
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      const [id, label, at] = line.split(" ");
      if (!id || !label || !at) continue;
      const byLabel = marks.get(id) ?? {};
      byLabel[label] = Number(at);
      marks.set(id, byLabel);
    }
  }
  const steps = new Map<string, number[]>();
  const totals: number[] = [];
  const path: readonly string[] = P7_PATH;
  for (const [id, [sent, received]] of client) {
    const m: Record<string, number> = { ...marks.get(id), "c.send": sent, "c.recv": received };
    const present = path.filter((label) => m[label] !== undefined).sort((a, b) => (m[a] as number) - (m[b] as number));
    if (present.length < path.length - 2) continue;
    totals.push(received - sent);
    for (let i = 1; i < present.length; i++) {
      const key = `${present[i - 1]} → ${present[i]}`;
      const values = steps.get(key) ?? [];
      values.push((m[present[i] as string] as number) - (m[present[i - 1] as string] as number));
      steps.set(key, values);
    }
  }
  const summary = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      p50: r3(percentile(sorted, 50)),
      mean: r3(values.reduce((a, b) => a + b, 0) / values.length),
      p99: r3(percentile(sorted, 99)),
    };
  };
  const position = (key: string) => path.indexOf(key.split(" → ")[1] as string);
  return {
    calls: totals.length,
    total: summary(totals),
    steps: [...steps]
      .filter(([, values]) => values.length >= totals.length / 10)
      .sort(([a], [b]) => position(a) - position(b))
      .map(([step, values]) => ({ step, what: P7_STEPS[step] ?? "", calls: values.length, ...summary(values) })),
  };
}

export function formatBreakdown(b: Breakdown): string {
  const lines = [`${b.calls} sequential calls, total p50 ${b.total.p50} ms, mean ${b.total.mean} ms, p99 ${b.total.p99} ms`];
  for (const s of b.steps) {
    lines.push(
      `  ${s.step.padEnd(26)} p50 ${String(s.p50).padStart(7)}  mean ${String(s.mean).padStart(7)}  p99 ${String(s.p99).padStart(8)}  ${s.what}`,
    );
  }
  return lines.join("\n");
}
