/**
 * Pino's JSON lines made readable for a person at a terminal: `12:03:04.567 INFO  gateway  request completed  GET
 * /health 200 1.4ms  key=value…`, with the error's stack below. A few lines of our own rather than pino-pretty: no
 * worker thread, no dependency, and only used when a person is watching (see `LOG_FORMAT`).
 */
export interface LineSink {
  write(text: string): unknown;
}

const LEVEL_COLOURS: Record<string, number> = { trace: 90, debug: 36, info: 32, warn: 33, error: 31, fatal: 35 };
/** Fields shown in the line's head, or not at all. */
const SHOWN_APART = new Set(["time", "level", "service", "msg", "pid", "hostname", "req", "res", "responseTime", "err"]);

export function prettyLogStream(sink: LineSink & { isTTY?: boolean }, colour = sink.isTTY === true): LineSink {
  const paint = (code: number, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  return {
    write(line: string) {
      sink.write(`${formatLogLine(line, paint)}\n`);
    },
  };
}

export function formatLogLine(line: string, paint: (code: number, text: string) => string = (_c, t) => t): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trimEnd();
  }
  const level = String(entry.level ?? "info");
  const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
  const parts = [paint(90, time), paint(LEVEL_COLOURS[level] ?? 0, level.toUpperCase().padEnd(5)), paint(90, String(entry.service ?? ""))];
  if (entry.msg !== undefined) parts.push(String(entry.msg));
  const req = entry.req as { method?: string; url?: string } | undefined;
  if (req?.method) parts.push(`${req.method} ${req.url ?? ""}`);
  const res = entry.res as { statusCode?: number } | undefined;
  if (res?.statusCode !== undefined) parts.push(String(res.statusCode));
  if (typeof entry.responseTime === "number") parts.push(`${entry.responseTime.toFixed(1)}ms`);
  for (const [key, value] of Object.entries(entry)) {
    if (!SHOWN_APART.has(key)) parts.push(paint(90, `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`));
  }
  const err = entry.err as { stack?: string; message?: string } | undefined;
  const stack = err ? `\n    ${(err.stack ?? err.message ?? JSON.stringify(err)).replaceAll("\n", "\n    ")}` : "";
  return parts.filter((part) => part !== "").join("  ") + stack;
}
