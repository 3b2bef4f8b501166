import type { BenchSettings } from "./system.ts";

export interface BenchContext {
  settings: BenchSettings;
  /** Short durations and sizes: a smoke run. */
  quick: boolean;
  /** Where CPU profiles of missed targets go. */
  profileDir: string;
  /** Profile the service behind a missed target (node --cpu-prof) and summarise it. */
  profileOnMiss: boolean;
  log(line: string): void;
}

/** Full-mode value, or the quick one. */
export const pick = <T>(ctx: BenchContext, full: T, quick: T): T => (ctx.quick ? quick : full);
