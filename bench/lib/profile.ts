// Summarises a V8 CPU profile (node --cpu-prof): self time per function (and per package), the top ones first.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext } from "./context.ts";
import { type ServiceName, type System, type SystemOptions, startSystem } from "./system.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of samples not idle (program + GC + functions). */
  busyMs: number;
  top: Array<{ fn: string; where: string; selfMs: number; pct: number }>;
  byPackage: Array<{ pkg: string; selfMs: number; pct: number }>;
}

/** node_modules/.pnpm/<name>@<v>/node_modules/<name>/... -> <name>; our code -> services/<x> or packages/<x>. */
function packageOf(url: string): string {
  if (!url) return "(native/vm)";
  if (url.startsWith("node:")) return "node core";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? "?");
  }
  const ours = url.match(/(services|packages)\/([^/]+)\//);
  return ours ? `${ours[1]}/${ours[2]}` : url.replace(/^file:\/\//, "").slice(-60);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length).replace(/^\.pnpm\/[^/]+\/node_modules\//, "");
  const ours = url.indexOf("/services/") >= 0 ? url.indexOf("/services/") : url.indexOf("/packages/");
  return ours >= 0 ? url.slice(ours + 1) : url.replace(/^file:\/\//, "");
}

/**
 * `fromUs` and `untilUs` (the monotonic clock in µs, process.hrtime, which V8's profile timestamps share) keep the
 * samples taken while the load ran: start-up (module loading, compiling) and shut-down (closing pools, Prisma's
 * disconnect) are not what a target is about.
 */
export function summariseProfile(file: string, topN = 12, fromUs = 0, untilUs = Number.POSITIVE_INFINITY): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = fromUs > profile.startTime && fromUs < profile.endTime ? fromUs : profile.startTime;
  const until = untilUs > from && untilUs < profile.endTime ? untilUs : profile.endTime;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from || t > until) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const totalUs = until - from;
  const byFn = new Map<string, { fn: string; where: string; us: number }>();
  const byPkg = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const fn = functionName || "(anonymous)";
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
    const key = `${fn}@${where}`;
    const entry = byFn.get(key) ?? { fn, where, us: 0 };
    entry.us += us;
    byFn.set(key, entry);
    const pkg = fn === "(garbage collector)" ? "(garbage collector)" : fn === "(program)" ? "(program)" : packageOf(url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    top: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: Math.round(e.us / 1000), pct: pct(e.us) })),
    byPackage: [...byPkg.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([pkg, us]) => ({ pkg, selfMs: Math.round(us / 1000), pct: pct(us) })),
  };
}

/** The newest profile of a service written to `dir` (file names start with the service name). */
export function latestProfile(dir: string, service: string): string | null {
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(`${service}-`) && f.endsWith(".cpuprofile"))
    .sort();
  const last = files.at(-1);
  return last ? join(dir, last) : null;
}

export function formatSummary(service: string, s: ProfileSummary): string {
  const lines = [`  ${service}: ${s.busyMs} ms busy of ${s.totalMs} ms profiled; self time by package:`];
  lines.push(`    ${s.byPackage.map((p) => `${p.pkg} ${p.pct}%`).join(", ")}`);
  lines.push("    top functions by self time:");
  for (const t of s.top) lines.push(`      ${String(t.pct).padStart(5)}%  ${t.fn}  ${t.where}`);
  return lines.join("\n");
}

/**
 * Starts a system whose `services` run under `node --cpu-prof`, runs `work` (ours only) on it, stops it (each
 * service writes its profile on exit) and summarises each profile.
 */
export async function profiled(
  ctx: BenchContext,
  services: ServiceName[],
  options: SystemOptions,
  /** Calls `loadStarts` once its set-up is done: the summary covers what follows. */
  work: (system: System, loadStarts: () => void) => Promise<void>,
): Promise<Record<string, ProfileSummary | string>> {
  mkdirSync(ctx.profileDir, { recursive: true });
  const system = await startSystem(ctx.settings, { ...options, profile: services, profileDir: ctx.profileDir });
  let fromUs = 0;
  let untilUs = Number.POSITIVE_INFINITY;
  try {
    await work(system, () => {
      fromUs = Number(process.hrtime.bigint() / 1000n);
    });
    untilUs = Number(process.hrtime.bigint() / 1000n);
  } finally {
    await system.stop();
  }
  const out: Record<string, ProfileSummary | string> = {};
  for (const service of services) {
    const file = latestProfile(ctx.profileDir, service);
    out[service] = file ? summariseProfile(file, 12, fromUs, untilUs) : "no profile written";
    if (typeof out[service] !== "string") ctx.log(formatSummary(service, out[service] as ProfileSummary));
  }
  return out;
}
