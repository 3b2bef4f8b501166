import { type Logger, type LoggerOptions, pino } from "pino";

/**
 * Paths pino removes from every log line. Secrets never reach a log: API keys, bearer tokens, client secrets,
 * OAuth tokens, webhook secrets and signatures.
 */
export const REDACTED_PATHS = [
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

/** Removes the `token` query parameter (user tokens of WebSocket clients) from a URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|api_key)=)[^&#]*/gi, "$1[Redacted]");
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

export function createLogger(service: string, level = "info"): Logger {
  return pino(loggerOptions(service, level));
}

export type { Logger };
