import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/**
 * Every environment variable of every service, in one place. Services parse it once at start-up
 * (`loadConfig`) and refuse to start with a message naming each missing or invalid variable.
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** `json`: one pino JSON object a line; `pretty`: readable lines; `auto`: pretty on a terminal, JSON otherwise. */
  LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  /**
   * Benchmarking only: a path prefix; the gateway and the worker then append timestamped latency marks of each tool
   * execution to `<path>.<pid>` (bench/README.md, P7's breakdown). Unset: no marks.
   */
  LATENCY_MARKS_FILE: z.string().min(1).optional(),
  /**
   * How long a service may take to stop after SIGTERM or SIGINT (finishing requests, letting active jobs end) before
   * it exits anyway. Longer than COMPOSIO_TIMEOUT_MS, so that a job in the middle of a Composio call can finish.
   */
  SHUTDOWN_TIMEOUT_MS: positiveInt.max(600_000).default(45_000),
  HOST: z.string().min(1).default("127.0.0.1"),
  GATEWAY_PORT: port.default(8000),
  WEBHOOKS_PORT: port.default(8001),
  WORKER_PORT: port.default(8002),
  EMULATOR_PORT: port.default(8010),
  /** Base URL at which browsers reach the gateway; Composio's OAuth callback is built from it. */
  PUBLIC_GATEWAY_URL: z.url().default("http://localhost:8000"),
  /** Where browsers open the WebSocket feed (the console); default: the webhooks port on PUBLIC_GATEWAY_URL's host. */
  PUBLIC_FEED_URL: z.url({ protocol: /^wss?$/ }).optional(),
  CORS_ORIGINS: z.string().default(""),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .default("postgresql://postgres@127.0.0.1:5432/kronos"),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  /** How long a request waits for a pooled Postgres connection (an unreachable Postgres: 503 after this). */
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt.default(1_500),
  /** Longest a statement may take, client-side (a blackholed Postgres answers nothing) and server-side. */
  DATABASE_QUERY_TIMEOUT_MS: positiveInt.default(1_500),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// URL")
    .default("redis://127.0.0.1:6379"),
  /** Prefix of every Redis key and channel we use, so that several deployments can share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default("kronos"),
  /** Longest wait for one Redis command on the request path (an unreachable Redis: 503, or 202 when accepted durably). */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(1_000),

  COMPOSIO_API_KEY: z.string().min(1, "is required (the run command starts the Composio emulator when it is unset)"),
  COMPOSIO_BASE_URL: z.url().default("https://backend.composio.dev"),
  COMPOSIO_TIMEOUT_MS: positiveInt.default(30_000),

  /** Bearer token of the operator: creates tenants, opens the queue dashboard. */
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters"),
  /** Signs the short-lived user tokens that browsers use. Shared by the gateway and the webhooks service. */
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters"),
  SESSION_TTL_SECONDS: positiveInt.max(86_400).default(3_600),

  /** How long POST initiate-enhanced waits for the connection job before answering 202. */
  CONNECT_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(8_000),
  STATUS_POLL_INITIAL_DELAY_MS: positiveInt.default(1_000),
  STATUS_POLL_MAX_DELAY_MS: positiveInt.default(30_000),
  /** How long a hosted connect link stays valid when Composio does not say (it says about 10 minutes). */
  CONNECT_LINK_TTL_SECONDS: positiveInt.default(600),
  /** How long a sign-in's verification code (the user verifier's) may be confirmed after it is issued. */
  CONNECTION_VERIFICATION_CODE_TTL_SECONDS: positiveInt.max(3_600).default(300),
  WORKER_CONCURRENCY: positiveInt.max(256).default(10),
  /**
   * Tool executions one worker process runs at once: they wait on Composio, not on the CPU, so a few slow calls
   * (each bounded by COMPOSIO_TIMEOUT_MS) must not hold every slot.
   */
  EXECUTION_CONCURRENCY: positiveInt.max(1_000).default(50),
  /** The share of COMPOSIO_REQUESTS_PER_MINUTE that connection status polls may use: executions come first. */
  STATUS_POLL_BUDGET_SHARE: z.coerce.number().gt(0).max(1).default(0.2),

  /** Events kept per tenant for clients that reconnect with `since`. */
  EVENT_RETENTION_COUNT: positiveInt.default(10_000),

  /** Composio requests per minute across every process; Composio's small plans allow 2,000 per organisation. */
  COMPOSIO_REQUESTS_PER_MINUTE: positiveInt.default(1_800),
  /** Attempts of a job that talks to Composio (5xx and timeouts are retried with exponential backoff and jitter). */
  COMPOSIO_MAX_ATTEMPTS: positiveInt.max(20).default(5),
  /**
   * Infrastructure errors (Postgres, Redis) inside a job are not Composio's attempts: the job waits with its own
   * exponential backoff, capped at INFRA_RETRY_MAX_DELAY_MS, for up to INFRA_RETRY_MAX_MS in all, before giving up.
   * A failed job's final state (execution FAILED, connection FAILED) is written with the same patience.
   */
  // Short enough that work resumes within seconds of Postgres or Redis coming back; cheap, since a pool that knows
  // Postgres is unreachable refuses at once (packages/db fail-fast.ts).
  INFRA_RETRY_MAX_DELAY_MS: positiveInt.default(5_000),
  INFRA_RETRY_MAX_MS: positiveInt.default(600_000),
  /**
   * A running job's lock in its queue, renewed every half of it while the job runs, and how often workers look for
   * jobs whose lock has expired (their worker died): work interrupted by a crash (an execution, a connection
   * initiation, any job) resumes within about JOB_LOCK_MS + JOB_STALLED_CHECK_MS. BullMQ's defaults (30 s each) made
   * it a minute.
   */
  JOB_LOCK_MS: positiveInt.min(1_000).default(5_000),
  JOB_STALLED_CHECK_MS: positiveInt.min(500).default(3_000),
  /** Repeatable reconciliation of local connections with Composio; 0 turns it off. */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(300),
  /** How often our triggers are compared with Composio's trigger instances; 0 turns it off. */
  TRIGGER_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(300),
  /** How often the sweeper re-adds accepted jobs that Redis lost; 0 turns the sweeper off (also its start-up pass). */
  SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(5),
  /** An accepted job younger than this is left alone by the sweeper (its request may still be adding it). */
  SWEEP_GRACE_MS: z.coerce.number().int().min(0).default(3_000),

  TOOLKIT_CACHE_TTL_SECONDS: positiveInt.default(300),
  /** How long past its TTL a cached catalogue entry may still be served when Composio is down. */
  TOOLKIT_CACHE_STALE_SECONDS: positiveInt.default(86_400),
  /** How long an agent session lasts when its creator gives no ttl_seconds, and the longest one may ask. */
  AGENT_SESSION_TTL_SECONDS: positiveInt.default(3_600),
  AGENT_SESSION_MAX_TTL_SECONDS: positiveInt.max(30 * 86_400).default(7 * 86_400),
  /**
   * How long an MCP tools/call waits for a sign-in or an approval (the client was shown the link through elicitation)
   * before it answers that the execution is still waiting; the agent can then ask again with kronos_get_execution.
   */
  MCP_PARKED_WAIT_SECONDS: positiveInt.max(3_600).default(120),
  /** Largest `?wait=` of POST tools/execute. */
  EXECUTE_MAX_WAIT_SECONDS: positiveInt.max(60).default(30),
  /** Largest `params` of a tool execution (bytes of JSON); larger is 413 before anything is queued. */
  EXECUTION_PARAMS_MAX_BYTES: positiveInt.max(1_048_576).default(65_536),
  /** How long an execution waits AWAITING_APPROVAL before it ends EXPIRED. */
  APPROVAL_TTL_SECONDS: positiveInt.max(30 * 86_400).default(900),
  /** Results larger than this (bytes of JSON) are stored truncated. */
  EXECUTION_RESULT_MAX_BYTES: positiveInt.default(262_144),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_SECONDS: positiveInt.default(86_400),

  WS_HEARTBEAT_INTERVAL_MS: positiveInt.max(30_000).default(25_000),
  /** A socket whose unsent bytes exceed this is a slow consumer and is closed. */
  WS_MAX_BUFFERED_BYTES: positiveInt.default(1_048_576),
  WS_MAX_MESSAGE_BYTES: positiveInt.max(1_048_576).default(4_096),
  /** Most feed sockets one user's tokens may hold open, across every webhooks instance (more: 429). */
  WS_MAX_SOCKETS_PER_USER: positiveInt.default(20),
  /** Most feed sockets one API key may hold open, across every webhooks instance (more: 429). */
  WS_MAX_SOCKETS_PER_API_KEY: positiveInt.default(200),
  /** How long a webhooks instance that stopped renewing its lease (a crash) keeps its sockets counted in the caps. */
  WS_SOCKET_LEASE_MS: positiveInt.min(300).max(600_000).default(30_000),
  /** Most connections listed in the `snapshot` message a socket receives on connect. */
  WS_SNAPSHOT_LIMIT: positiveInt.max(10_000).default(1_000),

  COMPOSIO_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** The previous secret, accepted too while a secret is being rotated. */
  COMPOSIO_WEBHOOK_SECRET_PREVIOUS: z.string().min(1).optional(),

  TRUST_PROXY: bool.default(false),

  /** Seals the signing secrets of outbound webhook endpoints at rest; by default a key derived from SESSION_SECRET. */
  WEBHOOK_SECRETS_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  /** Lets outbound webhooks reach private, loopback and link-local addresses (development, tests). Metadata: never. */
  OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: bool.default(false),
  /**
   * When each attempt of an outbound webhook is made, counted from the previous one: durations such as
   * "0,5s,5m,30m,2h,5h,10h,10h" (Svix's schedule, the default): the first is the first attempt, each later one a retry.
   */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default("0,5s,5m,30m,2h,5h,10h,10h")
    .transform((value, ctx) => {
      const delays = parseRetrySchedule(value);
      if (!delays) ctx.addIssue({ code: "custom", message: 'must be a comma-separated list of durations such as "0,5s,5m,2h"' });
      return delays ?? [];
    }),
  /** An endpoint that has failed without a success for this long is disabled (fractions allowed). */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().positive().default(120),
  /** After a secret rotation, how long the previous secret still signs too (fractions allowed). */
  WEBHOOK_SECRET_GRACE_HOURS: z.coerce.number().min(0).default(24),
  /** One attempt's time limit (connecting, sending and reading the answer). */
  WEBHOOK_TIMEOUT_MS: positiveInt.max(10_000).default(10_000),
  /**
   * Attempts in flight at once per worker process, all endpoints together (the lane's first attempts, and as many
   * again for retries), and per endpoint across every worker process (counted in Redis).
   */
  WEBHOOK_DELIVERY_CONCURRENCY: positiveInt.max(1_000).default(100),
  WEBHOOK_ENDPOINT_CONCURRENCY: positiveInt.max(100).default(10),
  /**
   * How often each worker looks for due deliveries whose job or lane entry is missing (and re-enqueues them); the
   * lane leaves rows due for more than half of it to the sweeper.
   */
  WEBHOOK_SWEEP_INTERVAL_MS: positiveInt.default(30_000),
  /** Audit records older than this many days are deleted by the gateway's retention sweep; 0 keeps them forever. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).default(365),
  /** Widest time range of one audit-log export (wider: 400). */
  AUDIT_EXPORT_MAX_DAYS: positiveInt.max(3_660).default(31),

  /** Requests per minute per API key (a tenant may have its own, set by the operator); counted in Redis. */
  RATE_LIMIT_API_KEY_PER_MINUTE: positiveInt.default(1_200),
  /** Requests per minute per user (all of the user's tokens together). */
  RATE_LIMIT_USER_PER_MINUTE: positiveInt.default(300),
  /** Requests per minute per client IP on unauthenticated routes (the Composio callback, the docs). */
  RATE_LIMIT_IP_PER_MINUTE: positiveInt.default(300),
  /** Lookups of unknown `kc_` keys per minute per client IP; past it, 429 without a Postgres query. */
  RATE_LIMIT_UNKNOWN_KEYS_PER_MINUTE: positiveInt.default(30),

  /** Emulator only: where it delivers its signed webhooks (signed with COMPOSIO_WEBHOOK_SECRET). */
  EMULATOR_WEBHOOK_URL: z.url().optional(),
  /** Emulator only: answer 429 past this many requests per minute, as Composio's plans do. */
  EMULATOR_RATE_LIMIT_PER_MINUTE: positiveInt.optional(),
});

export type Config = z.infer<typeof configSchema>;

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "0,5s,5m,2h" -> delays in milliseconds (a bare number is milliseconds); null when any part is not a duration. */
export function parseRetrySchedule(value: string): number[] | null {
  const delays: number[] = [];
  for (const part of value.split(",")) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(part);
    if (!match) return null;
    delays.push(Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? "ms"]!));
  }
  return delays.length > 0 ? delays : null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once. Throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`));
  }
  return result.data;
}

/** For a service's main(): load the config or print why not and exit. */
export function loadConfigOrExit(service: string): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`[${service}] ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
