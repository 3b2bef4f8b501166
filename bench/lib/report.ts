// One row of the results: what was measured, ours, the baseline's, the ratio (median of per-round ratios, with
// spread), the target and whether it was met. `pass` is null for figures without a target (scaling, context).

export interface Figure {
  id: string;
  figure: string;
  unit: string;
  ours: number | string | null;
  baseline?: number | null;
  ratio?: number | null;
  spread?: [number, number] | null;
  target?: string;
  pass: boolean | null;
  note?: string;
}

export interface ScenarioResult {
  scenario: string;
  /** When it ran (a results file keeps each scenario's last full run). */
  date?: string;
  title: string;
  available: boolean;
  reason?: string;
  figures: Figure[];
  /** Generator and services CPU share (percent of one core) during the measured windows. */
  cpu?: Record<string, Record<string, number>>;
  details?: unknown;
  /** Where a target was missed: the top self-time functions of the service that did the work. */
  profile?: unknown;
}

const fmt = (v: unknown): string => {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return String(v);
};

export function table(results: ScenarioResult[]): string {
  const rows: string[][] = [["id", "figure", "unit", "ours", "baseline", "ratio", "spread", "target", "result"]];
  for (const s of results) {
    if (!s.available) {
      rows.push([s.scenario, s.title, "", `not available: ${s.reason ?? "?"}`, "", "", "", "", "n/a"]);
      continue;
    }
    for (const f of s.figures) {
      rows.push([
        f.id,
        f.figure,
        f.unit,
        fmt(f.ours),
        fmt(f.baseline),
        fmt(f.ratio),
        f.spread ? `${fmt(f.spread[0])}–${fmt(f.spread[1])}` : "",
        f.target ?? "",
        f.pass === null ? "" : f.pass ? "pass" : "MISS",
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.min(60, Math.max(...rows.map((r) => (r[i] ?? "").length))));
  const line = (r: string[]) =>
    r.map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!))).join(" | ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.slice(1).map(line)].join("\n");
}
