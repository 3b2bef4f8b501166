import { appendFileSync } from "node:fs";

// Latency marks: where the time of one request goes, across processes (gateway, worker), by wall-clock timestamps
// (performance.timeOrigin + performance.now(): sub-millisecond, comparable between processes on one machine). Off
// unless LATENCY_MARKS_FILE is set: then a mark costs an array push, and a timer appends them to
// `<LATENCY_MARKS_FILE>.<pid>` every half second. The benchmark's P7 breakdown reads them (bench/README.md); a mark's
// label says where it was made (`g.` gateway, `w.` worker).

let entries: string[] | null = null;

/** Turns the marks on for this process (LATENCY_MARKS_FILE); without a file they stay off. */
export function enableLatencyMarks(file: string | undefined): void {
  if (!file || entries) return;
  const written: string[] = [];
  entries = written;
  const flush = () => {
    if (written.length === 0) return;
    appendFileSync(`${file}.${process.pid}`, `${written.join("\n")}\n`);
    written.length = 0;
  };
  setInterval(flush, 500).unref();
  process.on("exit", flush);
}

/** Marks that request `id` (an execution id) reached `label` now. */
export function markLatency(id: string, label: string): void {
  entries?.push(`${id} ${label} ${(performance.timeOrigin + performance.now()).toFixed(3)}`);
}
