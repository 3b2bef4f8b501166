import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { createEmulatorApp, type EmulatorOptions } from "./app.js";

export { createEmulatorApp, type EmulatorInternals, type EmulatorOptions } from "./app.js";
export { TOOLKITS, TOOLS } from "./catalogue.js";
export { CONTROL_PREFIX } from "./control.js";
export { controlEmulator } from "./control-client.js";
export { FAULT_KINDS, type Fault, type FaultKind, type FaultSpec } from "./faults.js";
export { RATE_LIMIT_WINDOW_SECONDS, type RateLimitSnapshot } from "./rate-limit.js";
export type { AccountStatus, ExecutionRecord, RequestLogEntry } from "./state.js";
export {
  DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  EMULATOR_ORG_ID,
  EMULATOR_PROJECT_ID,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_VERSION,
  type WebhookAttempt,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookOptions,
} from "./webhooks.js";

export const DEFAULT_EMULATOR_API_KEY = "emulator-api-key";

export interface StartEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  apiKey?: string;
  publicUrl?: string;
  logger?: EmulatorOptions["logger"];
  linkTtlSeconds?: number;
  /** Signed webhook deliveries (Composio → us): target URL, secret, optional retry delays and timeout. */
  webhook?: EmulatorOptions["webhook"];
  /** Answer 429 past this many API requests in any sliding 60 s window; unlimited when absent or null. */
  rateLimitPerMinute?: number | null;
}

export interface RunningEmulator {
  /** e.g. http://127.0.0.1:43123 (no trailing slash): the COMPOSIO_BASE_URL for clients. */
  url: string;
  apiKey: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Starts the emulator on a socket. */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const apiKey = options.apiKey ?? DEFAULT_EMULATOR_API_KEY;
  const appOptions: EmulatorOptions = { apiKey };
  if (options.publicUrl !== undefined) appOptions.publicUrl = options.publicUrl;
  if (options.logger !== undefined) appOptions.logger = options.logger;
  if (options.linkTtlSeconds !== undefined) appOptions.linkTtlSeconds = options.linkTtlSeconds;
  if (options.webhook !== undefined) appOptions.webhook = options.webhook;
  if (options.rateLimitPerMinute !== undefined) appOptions.rateLimitPerMinute = options.rateLimitPerMinute;
  const app = createEmulatorApp(appOptions);
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { url: `http://${urlHost}:${address.port}`, apiKey, app, close: () => app.close() };
}
