import type { Sql } from "@kronos/db";
import {
  BatchQueue,
  type Config,
  type EndpointDisabledEventData,
  EVENT_TYPES,
  type EventBus,
  nextAttemptDelayMs,
  openJobSecret,
  parseRetryAfter,
  SEAL_PURPOSES,
  signWebhook,
} from "@kronos/shared";
import { type PostOutcome, postWebhook } from "./post-webhook.js";

export interface AttemptDeps {
  config: Config;
  sql: Sql;
  bus: EventBus;
  /** Replaced in tests. */
  post?: typeof postWebhook;
  /** Where successes are written (`successRecorder`: many in one statement); without it, one statement each. */
  recordSuccess?: (success: Success) => Promise<void>;
}

/** A 2xx answer, to be written on its delivery row. */
export interface Success {
  id: string;
  statusCode: number;
  latencyMs: number;
}

/** What the job does next: nothing (the row is final or was never there), or run again at `at` (epoch ms). */
export type AttemptResult = { kind: "done" } | { kind: "later"; at: number };

export interface DueDelivery {
  id: string;
  status: string;
  attempts: number;
  event_id: string;
  body: string;
  next_attempt_at: Date | null;
  tenant_id: string;
  endpoint_id: string;
  url: string;
  enabled: boolean;
  sealed_secret: string;
  previous_sealed_secret: string | null;
  previous_secret_expires_at: Date | null;
}

// Prisma's DateTime columns hold UTC without a zone: every "now" in these statements is written the same way.
const NOW = "timezone('UTC', now())";

const COLUMNS = `d.id, d.status, d.attempts, d.event_id, d.body, d.next_attempt_at, d.tenant_id, e.id AS endpoint_id, e.url,
       e.enabled, e.sealed_secret, e.previous_sealed_secret, e.previous_secret_expires_at`;

const LOAD = `
SELECT ${COLUMNS}
FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.id = $1::uuid`;

/**
 * Successes, many in one statement (one commit); each clears its endpoint's failing streak (written at most once a
 * minute per endpoint while all goes well).
 */
const RECORD_SUCCESSES = `
WITH s AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[]) AS s(id, status_code, latency_ms)),
d AS (
  UPDATE webhook_deliveries w SET status = 'SUCCEEDED', attempts = w.attempts + 1, last_status_code = s.status_code,
         last_latency_ms = s.latency_ms, last_error = NULL, next_attempt_at = NULL, updated_at = ${NOW}
  FROM s WHERE w.id = s.id RETURNING w.endpoint_id)
UPDATE webhook_endpoints e SET failing_since = NULL, last_success_at = ${NOW}
WHERE e.id IN (SELECT endpoint_id FROM d)
  AND (e.failing_since IS NOT NULL OR e.last_success_at IS NULL OR e.last_success_at < ${NOW} - interval '1 minute')`;

/** A failure starts the endpoint's failing streak if none runs; answers when it started. */
const RECORD_FAILURE = `
WITH d AS (
  UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status_code = $3, last_latency_ms = $4,
         last_error = $5, next_attempt_at = $6::timestamptz AT TIME ZONE 'UTC', updated_at = ${NOW}
  WHERE id = $1::uuid RETURNING endpoint_id)
UPDATE webhook_endpoints e SET failing_since = COALESCE(e.failing_since, ${NOW})
FROM d WHERE e.id = d.endpoint_id
RETURNING e.failing_since < ${NOW} - make_interval(secs => $7) AS failing_too_long`;

const DISABLE_ENDPOINT = `
UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = ${NOW}
WHERE id = $1::uuid AND enabled
RETURNING id, tenant_id, url`;

const GIVE_UP = `
UPDATE webhook_deliveries SET status = 'FAILED', last_error = $2, next_attempt_at = NULL, updated_at = ${NOW}
WHERE id = $1::uuid AND status = 'PENDING'`;

/** Which answers are worth another attempt: timeouts and network errors, 5xx, 429. Other 4xx will not change. */
function isRetryable(outcome: PostOutcome): boolean {
  if (outcome.kind === "network") return true;
  if (outcome.kind === "refused") return false;
  return outcome.status === 429 || outcome.status >= 500;
}

const SUCCESS_LINGER_MS = 20;

function recordSuccesses(sql: Sql, successes: readonly Success[]): Promise<number> {
  return sql.count({
    name: "webhook-delivery-successes",
    text: RECORD_SUCCESSES,
    values: [successes.map((s) => s.id), successes.map((s) => s.statusCode), successes.map((s) => s.latencyMs)],
  });
}

/**
 * Successes written together: a success waits up to SUCCESS_LINGER_MS for others, and while a statement runs the next
 * ones wait and leave in one (under load, one statement and one commit serve many deliveries). Nobody waits on these
 * writes in a hurry: the endpoint has its answer, and the attempt's slot is already free. Each caller's promise
 * settles with its write.
 */
export function successRecorder(sql: Sql): (success: Success) => Promise<void> {
  const batches = new BatchQueue<Success, undefined>(
    async (items) => {
      await recordSuccesses(sql, items);
      return items.map(() => ({ ok: true as const, value: undefined }));
    },
    500,
    1,
    SUCCESS_LINGER_MS,
  );
  return (success) => batches.push(success);
}

/** One attempt of the delivery `deliveryId`: read, then `attemptLoaded`. */
export async function attemptDelivery(
  deps: AttemptDeps,
  deliveryId: string,
  answered: () => void = () => {},
  now = Date.now(),
): Promise<AttemptResult> {
  const [row] = await deps.sql.rows<DueDelivery>({ name: "webhook-delivery-load", text: LOAD, values: [deliveryId] });
  if (!row) return { kind: "done" };
  return attemptLoaded(deps, row, answered, now);
}

/**
 * One attempt of one delivery, recorded on its row: signed with the endpoint's secret (and the previous one during a
 * rotation's grace period), POSTed, and then SUCCEEDED, FAILED, or PENDING with the next attempt's time on the
 * retry schedule (Retry-After honoured). 410 disables the endpoint; so does failing without a success for
 * WEBHOOK_DISABLE_AFTER_HOURS; both publish `endpoint.disabled`.
 */
export async function attemptLoaded(
  deps: AttemptDeps,
  row: DueDelivery,
  /** Called once the endpoint has answered (or the POST failed), before the outcome is written: frees its slot. */
  answered: () => void = () => {},
  now = Date.now(),
): Promise<AttemptResult> {
  const { config, sql } = deps;
  if (row.status !== "PENDING") return { kind: "done" };
  if (!row.enabled) {
    await sql.count({ text: GIVE_UP, values: [row.id, "the endpoint is disabled"] });
    return { kind: "done" };
  }
  const due = utcMs(row.next_attempt_at);
  if (due !== null && due > now) return { kind: "later", at: due };

  const key = config.WEBHOOK_SECRETS_KEY ?? config.SESSION_SECRET;
  const secrets = [openSecret(row.sealed_secret, key)];
  const previousUntil = utcMs(row.previous_secret_expires_at);
  if (row.previous_sealed_secret && previousUntil !== null && previousUntil > now)
    secrets.push(openSecret(row.previous_sealed_secret, key));
  const headers = signWebhook(secrets, row.event_id, Math.floor(now / 1000), row.body);
  let outcome: PostOutcome;
  try {
    outcome = await (deps.post ?? postWebhook)(new URL(row.url), { ...headers }, row.body, {
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      policy: { allowPrivate: config.OUTBOUND_WEBHOOKS_ALLOW_PRIVATE },
    });
  } finally {
    answered();
  }

  if (outcome.kind === "response" && outcome.status >= 200 && outcome.status < 300) {
    const success = { id: row.id, statusCode: outcome.status, latencyMs: outcome.latencyMs };
    await (deps.recordSuccess ? deps.recordSuccess(success) : recordSuccesses(sql, [success]));
    return { kind: "done" };
  }

  const attemptsMade = row.attempts + 1;
  const retryAfterMs = outcome.kind === "response" ? parseRetryAfter(outcome.retryAfter, now) : null;
  const delay = isRetryable(outcome) ? nextAttemptDelayMs(config.WEBHOOK_RETRY_SCHEDULE, attemptsMade, retryAfterMs) : null;
  const nextAt = delay === null ? null : Date.now() + delay;
  const statusCode = outcome.kind === "response" ? outcome.status : null;
  const error = outcome.kind === "response" ? `HTTP ${outcome.status}` : outcome.reason;
  const [streak] = await sql.rows<{ failing_too_long: boolean }>({
    name: "webhook-delivery-failure",
    text: RECORD_FAILURE,
    values: [
      row.id,
      nextAt === null ? "FAILED" : "PENDING",
      statusCode,
      outcome.latencyMs,
      error,
      nextAt === null ? null : new Date(nextAt).toISOString(),
      config.WEBHOOK_DISABLE_AFTER_HOURS * 3600,
    ],
  });

  if (statusCode === 410) await disableEndpoint(deps, row, "gone");
  else if (streak?.failing_too_long) await disableEndpoint(deps, row, "failing");
  return nextAt === null ? { kind: "done" } : { kind: "later", at: nextAt };
}

async function disableEndpoint(deps: AttemptDeps, row: DueDelivery, reason: EndpointDisabledEventData["reason"]): Promise<void> {
  const why =
    reason === "gone" ? "The endpoint answered 410 Gone" : `No successful delivery for ${deps.config.WEBHOOK_DISABLE_AFTER_HOURS} h`;
  const [disabled] = await deps.sql.rows<{ id: string; tenant_id: string; url: string }>({
    text: DISABLE_ENDPOINT,
    values: [row.endpoint_id, why],
  });
  if (!disabled) return; // Another attempt disabled it first: one event.
  const data: EndpointDisabledEventData = { endpoint_id: disabled.id, url: disabled.url, reason, disabled_at: new Date().toISOString() };
  await deps.bus.publish({ type: EVENT_TYPES.endpointDisabled, tenantId: disabled.tenant_id, userId: null, data });
}

/** Opened secrets by their sealed form (a key derivation and a decryption per attempt showed at hundreds a second). */
const openedSecrets = new Map<string, string>();
const MAX_OPENED_SECRETS = 1_000;

function openSecret(sealed: string, key: string): string {
  let secret = openedSecrets.get(sealed);
  if (secret === undefined) {
    if (openedSecrets.size >= MAX_OPENED_SECRETS) openedSecrets.clear();
    secret = openJobSecret<string>(sealed, key, SEAL_PURPOSES.webhookEndpointSecrets);
    openedSecrets.set(sealed, secret);
  }
  return secret;
}

/** pg reads a `timestamp without time zone` as local time: the column holds UTC (as Prisma writes it). */
function utcMs(value: Date | null): number | null {
  if (value === null) return null;
  return value.getTime() - value.getTimezoneOffset() * 60_000;
}
