import { type Logger, type LoggerOptions, pino } from "pino";
import { type LineSink, prettyLogStream } from "./pretty-log.js";

/**
 * Paths pino removes from every log line. Secrets never reach a log: API keys, bearer tokens, client secrets,
 * OAuth tokens, webhook secrets and signatures.
 */
const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'req.headers["webhook-signature"]',
  "headers.authorization",
  'headers["x-api-key"]',
  "apiKey",
  "api_key",
  "token",
  "access_token",
  "refresh_token",
  "client_secret",
  "secret",
  "password",
  "*.apiKey",
  "*.api_key",
  "*.token",
  "*.access_token",
  "*.refresh_token",
  "*.client_secret",
  "*.secret",
  "*.password",
  "*.credentials",
  "credentials",
];

/** `k`: a connection's callback secret (the callback URL Composio sends the browser back to). */
const SECRET_QUERY_NAMES = new Set(["token", "api_key", "k"]);

/** A query parameter's name as the server reads it: percent-decoded (`%74oken` is `token`), case-insensitive. */
function queryName(raw: string): string {
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * Removes the value of the `token` and `api_key` query parameters (user tokens of WebSocket clients) and of `k` (a
 * connection's callback secret) from a URL
 * before it is logged, however the name is spelt: the query parser decodes `?%74oken=` to `token` and authenticates.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, separator: string, name: string) =>
    SECRET_QUERY_NAMES.has(queryName(name)) ? `${separator}${name}=[Redacted]` : whole,
  );
}

export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: REDACTED_PATHS, censor: "[Redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: {
      req: (req: { id?: string; method?: string; url?: string; headers?: Record<string, unknown> }) => ({
        id: req.id,
        method: req.method,
        url: req.url ? redactUrl(req.url) : req.url,
      }),
    },
  };
}

export type LogFormat = "auto" | "json" | "pretty";

export interface LogOutput {
  /** `auto` (the default): pretty when the output is a terminal. */
  format?: LogFormat;
  /** Where lines go; stdout by default (tests capture them). */
  stream?: LineSink & { isTTY?: boolean };
}

export function createLogger(service: string, level = "info", output: LogOutput = {}): Logger {
  const format = output.format ?? "auto";
  const pretty = format === "pretty" || (format === "auto" && (output.stream ?? process.stdout).isTTY === true);
  if (pretty) return pino(loggerOptions(service, level), prettyLogStream(output.stream ?? process.stdout));
  // JSON to stdout through pino's own fast destination (sonic-boom), as before LOG_FORMAT existed.
  return output.stream ? pino(loggerOptions(service, level), output.stream) : pino(loggerOptions(service, level));
}

export type { Logger };

type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** See lazyChildLogger. Methods on the prototype: an instance is three fields (it lives as long as its request). */
class LazyChildLogger {
  private real: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Record<string, unknown>,
  ) {}

  private child_(): Logger {
    this.real ??= this.parent.child(this.childBindings);
    return this.real;
  }
  private write(level: Level, args: unknown[]): void {
    if (!(this.real ?? this.parent).isLevelEnabled(level)) return;
    (this.child_()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return (this.real ?? this.parent).level;
  }
  set level(level: string) {
    this.child_().level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }
  bindings(): Record<string, unknown> {
    return this.child_().bindings();
  }
  /** Lazy too (a handler's own child of a job's logger would otherwise make both loggers for every job). */
  child(bindings: Record<string, unknown>, options: Record<string, unknown> = {}): Logger {
    if (this.real) return this.real.child(bindings, options);
    return lazyChildLogger(this.parent, { ...this.childBindings, ...bindings }, options);
  }
  silent(): void {}
  trace(...args: unknown[]): void {
    this.write("trace", args);
  }
  debug(...args: unknown[]): void {
    this.write("debug", args);
  }
  info(...args: unknown[]): void {
    this.write("info", args);
  }
  warn(...args: unknown[]): void {
    this.write("warn", args);
  }
  error(...args: unknown[]): void {
    this.write("error", args);
  }
  fatal(...args: unknown[]): void {
    this.write("fatal", args);
  }
}

/**
 * A request's logger that becomes a real pino child (with the request id bound) only when something is logged at an
 * enabled level. Fastify makes a child per request; at `warn` in production, almost none is ever written to, and
 * making each one (bindings serialised, redaction applied) was a measurable part of the gateway's per-request CPU.
 * A route-level level or serializers (non-empty `options`) get a real child at once.
 */
export function lazyChildLogger(parent: Logger, bindings: Record<string, unknown>, options: Record<string, unknown> = {}): Logger {
  if (Object.keys(options).length > 0) return parent.child(bindings, options);
  return new LazyChildLogger(parent, bindings) as unknown as Logger;
}
