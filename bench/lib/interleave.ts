// The interleaving runner: the machine changes speed within minutes, so ours (A) and the baseline (B) alternate
// A B A B ..., each round gives one ratio A/B, and we report the median ratio with its spread (lowest..highest).
import { median, r3, range } from "./stats.ts";

export interface RoundResult<T> {
  ours: T;
  baseline: T;
}

export interface Interleaved<T> {
  rounds: Array<RoundResult<T>>;
  /** Per-round ratio of each metric, ours / baseline. */
  ratio(metric: (x: T) => number): { median: number; spread: [number, number]; perRound: number[] };
  /** Median over rounds of a metric of ours or of the baseline. */
  median(side: "ours" | "baseline", metric: (x: T) => number): number;
}

export async function interleave<T>(
  rounds: number,
  ours: (round: number) => Promise<T>,
  baseline: (round: number) => Promise<T>,
  log: (line: string) => void = () => {},
): Promise<Interleaved<T>> {
  const results: Array<RoundResult<T>> = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first as well, so a speed change mid-round does not always favour the same side.
    let a: T;
    let b: T;
    if (i % 2 === 0) {
      a = await ours(i);
      b = await baseline(i);
    } else {
      b = await baseline(i);
      a = await ours(i);
    }
    results.push({ ours: a, baseline: b });
    log(`round ${i + 1}/${rounds} done`);
  }
  return {
    rounds: results,
    ratio(metric) {
      const perRound = results.map((r) => r3(metric(r.ours) / metric(r.baseline)));
      return { median: median(perRound), spread: range(perRound), perRound };
    },
    median(side, metric) {
      return median(results.map((r) => metric(r[side])));
    },
  };
}
