// Child processes of the benchmark: each service (and each baseline) runs as its own process, started from its
// built dist (or a bench script), on free ports. RSS and CPU time come from /proc/<pid>.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export { freePort } from "@kronos/testing";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_SIZE = 4096;

export interface ProcSample {
  rssBytes: number;
  /** user + system CPU time, ms. */
  cpuMs: number;
}

/** RSS and CPU time of a process from /proc/<pid>/stat (null once it is gone). */
export function procSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces), 1-based numbering from field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { rssBytes: rssPages * PAGE_SIZE, cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  sample(): ProcSample;
  stop(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  /** Resolves when the process is ready: an HTTP URL answering 2xx, or a line it prints. */
  ready: { url: string } | { line: string };
  nodeArgs?: string[];
  timeoutMs?: number;
}

const running = new Set<Proc>();

/** Starts `node [nodeArgs] <entry>` (entry relative to the repository root) and waits until it is ready. */
export async function startProc(name: string, entry: string, options: StartOptions): Promise<Proc> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry], {
    cwd: repoRoot,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proc: Proc = {
    name,
    pid: child.pid ?? -1,
    child,
    output: () => output,
    sample: () => procSample(child.pid ?? -1) ?? { rssBytes: 0, cpuMs: 0 },
    async stop() {
      running.delete(proc);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(proc);
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output.slice(-3000)}`);
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${name} was not ready in time:\n${output.slice(-3000)}`);
    }
    if ("line" in options.ready) {
      if (output.includes(options.ready.line)) break;
    } else {
      const ok = await fetch(options.ready.url)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return proc;
}

/** Stops every process still running (on exit or interruption). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/**
 * CPU use of a set of processes (and of this generator) over a window, as a share of the machine's cores, so that
 * a reader can see how much of the two cores the load generator itself took.
 */
/** CPU ms of every process whose command is `comm` (e.g. all Postgres backends), by pid. */
function cpuByComm(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== comm) continue;
    } catch {
      continue;
    }
    const sample = procSample(Number(entry));
    if (sample) out.set(Number(entry), sample.cpuMs);
  }
  return out;
}

/** Busy and total CPU ms of the whole machine (all cores), from /proc/stat. */
function machineCpu(): { busyMs: number; totalMs: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busyMs: ((total - idle) * 1000) / CLOCK_TICKS, totalMs: (total * 1000) / CLOCK_TICKS };
}

/** What shares the machine besides our processes: every Postgres backend and the Redis server. */
const INFRA = [
  { name: "postgres", comm: "postgres" },
  { name: "redis", comm: "redis-server" },
];

/**
 * CPU use over a window: of the given processes, of this process (the generator), of Postgres and Redis (all their
 * processes), and of the whole machine (`machine`: busy percent of one core, all processes, whatever they are).
 */
export class CpuWindow {
  private readonly start = new Map<string, number>();
  private readonly infraStart = INFRA.map((infra) => cpuByComm(infra.comm));
  private readonly machineStart = machineCpu();
  private readonly genStart = process.cpuUsage();
  private readonly t0 = performance.now();
  private readonly procs: Array<{ name: string; pid: number }>;
  constructor(procs: Array<{ name: string; pid: number }>) {
    this.procs = procs;
    for (const p of procs) this.start.set(p.name, procSample(p.pid)?.cpuMs ?? 0);
  }

  /** Percent of one core per process ("generator" is this process); 200 = both cores. */
  end(): Record<string, number> {
    const elapsed = performance.now() - this.t0;
    const gen = process.cpuUsage(this.genStart);
    const out: Record<string, number> = { generator: round1(((gen.user + gen.system) / 1000 / elapsed) * 100) };
    for (const p of this.procs) {
      const now = procSample(p.pid)?.cpuMs ?? 0;
      out[p.name] = round1(((now - (this.start.get(p.name) ?? 0)) / elapsed) * 100);
    }
    INFRA.forEach((infra, index) => {
      let used = 0;
      for (const [pid, cpuMs] of cpuByComm(infra.comm)) used += cpuMs - (this.infraStart[index]?.get(pid) ?? 0);
      out[infra.name] = round1((used / elapsed) * 100);
    });
    const machine = machineCpu();
    out.machine = round1(((machine.busyMs - this.machineStart.busyMs) / elapsed) * 100);
    return out;
  }
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
