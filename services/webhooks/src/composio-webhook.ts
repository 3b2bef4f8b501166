import { randomUUID } from "node:crypto";
import { findKnownTrigger, type PrismaClient, type Sql } from "@kronos/db";
import {
  AppError,
  COMPOSIO_WEBHOOK_TYPES,
  type Config,
  EVENT_TYPES,
  type EventBus,
  ingestClaim,
  isUuid,
  JOBS,
  parseComposioUserId,
  storableJson,
  type TypedQueue,
  triggerMessageEventData,
  triggerMessageRefs,
  verifyComposioWebhook,
  WEBHOOK_CLAIM_LEASE_MS,
} from "@kronos/shared";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { typeLabel, type WebhookOutcome, type WebhooksMetrics } from "./metrics.js";
import { WebhookOwners } from "./webhook-owners.js";
import { WebhookStore } from "./webhook-store.js";

/** Largest delivery accepted (413 above). */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * Deliveries being stored and enqueued at once, above which a delivery is answered 503 with Retry-After (Composio
 * retries it) instead of queueing for the database without bound: under overload the process keeps answering
 * quickly (and accepting connections) rather than piling up requests until connections are reset.
 */
const WEBHOOK_MAX_IN_FLIGHT = 1024;

/** Seconds a shed delivery is told to wait (the Retry-After header). */
const WEBHOOK_RETRY_AFTER_SECONDS = 1;

/** The route (documented in docs/composio.md). */
const COMPOSIO_WEBHOOK_PATH = "/webhooks/composio";

/** What the route needs of the BullMQ queue (tests wrap it). */
export type WebhookQueue = Pick<TypedQueue<"webhookEvent">, "add" | "getJob">;

export interface ComposioWebhookOptions {
  config: Config;
  prisma: PrismaClient;
  /** The hot statements (storing deliveries, marking them applied): the pg pool behind `prisma`. */
  sql: Sql;
  queue: WebhookQueue;
  /** Publishes trigger messages straight away (see `publishTriggerMessage`). */
  bus: Pick<EventBus, "publish">;
  metrics: WebhooksMetrics;
  /** Default WEBHOOK_MAX_IN_FLIGHT. */
  maxInFlight?: number;
}

/** Composio's V3 envelope, as far as we read it here (the worker reads the rest from the stored payload). */
interface Envelope {
  id: string;
  type: string;
  data: unknown;
  metadata?: unknown;
  [key: string]: unknown;
}

/**
 * Becomes a BullMQ job id and a primary key: Composio's ids are `msg_...`. BullMQ refuses integer-like ids and ids
 * with `:`, so those are refused here rather than failing at every retry.
 */
const WEBHOOK_ID_PATTERN = /^(?=.*[^0-9])[A-Za-z0-9_.-]{1,200}$/;

const headerValue = (value: string | string[] | undefined): string | undefined => (typeof value === "string" ? value : undefined);

/** Parses and checks the body (after the signature check): 400 unless it is a V3 envelope for this delivery. */
export function parseEnvelope(raw: Buffer, webhookId: string): Envelope {
  if (!WEBHOOK_ID_PATTERN.test(webhookId)) throw new AppError("VALIDATION_FAILED", "webhook-id has an unexpected format");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new AppError("VALIDATION_FAILED", "The body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AppError("VALIDATION_FAILED", "The body must be a JSON object (Composio's V3 envelope)");
  }
  const envelope = parsed as Record<string, unknown>;
  if (envelope.id !== webhookId) throw new AppError("VALIDATION_FAILED", "The body's id must equal the webhook-id header");
  if (typeof envelope.type !== "string" || envelope.type.length === 0 || envelope.type.length > 200) {
    throw new AppError("VALIDATION_FAILED", "The body's type must be a non-empty string");
  }
  if (envelope.data === undefined || envelope.data === null) throw new AppError("VALIDATION_FAILED", "The body's data is missing");
  return envelope as Envelope;
}

/**
 * The tenant a delivery is about, when it says: our Composio user ids are `<tenant uuid>:<user id>`, found in
 * `metadata.user_id` (trigger messages) or `data.user_id` (connected accounts, disabled triggers). Only a well-formed
 * uuid is kept (the column is a uuid); the worker checks the rest.
 */
export function tenantIdOf(envelope: Envelope): string | null {
  for (const holder of [envelope.metadata, envelope.data]) {
    if (typeof holder !== "object" || holder === null) continue;
    const userId = (holder as { user_id?: unknown }).user_id;
    if (typeof userId !== "string") continue;
    const parsed = parseComposioUserId(userId);
    if (parsed && isUuid(parsed.tenantId)) return parsed.tenantId.toLowerCase();
  }
  return null;
}

/**
 * POST /webhooks/composio: Composio's signed deliveries. Registered in its own (encapsulated) context so that its
 * content-type parser, which keeps the raw bytes for the signature, applies to this route only.
 *
 *   1. no secret configured: 503 (nothing unsigned is ever accepted);
 *   2. signature over the raw body, with the current and the previous secret: 401, no side effect;
 *   3. the V3 envelope: 400;
 *   4. the row is INSERTed (ON CONFLICT DO NOTHING, batched with concurrent deliveries: the primary key, the webhook id, decides between concurrent
 *      duplicates, on any number of instances), then the job is enqueued with the webhook id as its job id; only then
 *      200. More than `maxInFlight` deliveries being stored at once: 503 with Retry-After, nothing stored. A failed
 *      enqueue answers 500, and Composio's retry finds the row unprocessed with no job: it enqueues
 *      again.
 *   5. the fast path: a `composio.trigger.message` whose owner is known is published here, as soon as its row is
 *      stored, and the row marked applied; no job, no worker hop (this is the path of most deliveries, and of their
 *      latency). Anything else, or a trigger message this cannot place or publish, goes to the worker as a job.
 */
export async function composioWebhookRoutes(app: FastifyInstance, options: ComposioWebhookOptions): Promise<void> {
  const { config, prisma, sql, queue, bus, metrics } = options;
  const maxInFlight = options.maxInFlight ?? WEBHOOK_MAX_IN_FLIGHT;
  let inFlight = 0;
  const store = new WebhookStore(sql);
  const owners = new WebhookOwners(prisma);
  const secrets = [config.COMPOSIO_WEBHOOK_SECRET, config.COMPOSIO_WEBHOOK_SECRET_PREVIOUS].filter(
    (secret): secret is string => typeof secret === "string" && secret.length > 0,
  );

  // Every content type arrives as the raw Buffer: the signature covers the bytes, never re-serialised JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => {
    done(null, body);
  });

  const enqueue = (webhookId: string) => queue.add(JOBS.processWebhookEvent, { webhookId }, { jobId: webhookId });

  /**
   * Publishes a stored trigger message to its owner and marks the row applied. False (nothing published) when the
   * owner is unknown or the lookup or the publish failed: the worker's job then takes the delivery over (and records
   * why it ignores it, if it does). Once published it is true even if the mark fails: the row then stays unprocessed
   * (logged), which only matters to a replay, and is better than a second copy of the event.
   */
  const publishTriggerMessage = async (webhookId: string, envelope: Envelope, claim: string, log: FastifyBaseLogger): Promise<boolean> => {
    let published: { tenantId: string } | null = null;
    const handOver = async () => {
      // The worker's job takes over: it must be able to claim the row at once, not after the lease.
      await store.releaseClaim(webhookId, claim);
      return false;
    };
    try {
      const refs = triggerMessageRefs(envelope);
      const owner = await owners.resolve(refs);
      if (!owner) return await handOver();
      // One of our triggers (made through our API): the event carries its id, labels and connection.
      const trigger = refs.composioTriggerId ? await findKnownTrigger(sql, refs.composioTriggerId, owner.tenantId) : null;
      const data = triggerMessageEventData(envelope, owner, trigger);
      await bus.publish({ type: EVENT_TYPES.triggerMessage, tenantId: owner.tenantId, userId: owner.userId, data });
      published = { tenantId: owner.tenantId };
      await store.markApplied(webhookId, owner.tenantId);
      return true;
    } catch (error) {
      if (!published) {
        log.warn({ err: error, webhookId }, "could not publish a trigger message here: handing it to the worker");
        // If even the release fails, the claim's lease runs out and the job (which retries) takes over then.
        return handOver().catch(() => false);
      }
      log.error({ err: error, webhookId }, "published a trigger message but could not mark its row applied");
      return true;
    }
  };

  app.post(COMPOSIO_WEBHOOK_PATH, { bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
    const count = (type: string | undefined, outcome: WebhookOutcome) => metrics.webhooksReceived.inc({ type: typeLabel(type), outcome });
    if (secrets.length === 0) {
      count(undefined, "unconfigured");
      throw new AppError("UNAVAILABLE", "webhooks are not configured");
    }

    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const headers = {
      id: headerValue(request.headers["webhook-id"]),
      timestamp: headerValue(request.headers["webhook-timestamp"]),
      signature: headerValue(request.headers["webhook-signature"]),
    };
    const check = verifyComposioWebhook(headers, raw, secrets);
    if (!check.ok) {
      metrics.signatureFailures.inc({ reason: check.reason });
      request.log.warn({ reason: check.reason, webhookId: headers.id }, "refused a Composio webhook: signature check failed");
      throw new AppError("UNAUTHENTICATED", "Invalid webhook signature");
    }
    const webhookId = headers.id as string;

    let envelope: Envelope;
    try {
      envelope = parseEnvelope(raw, webhookId);
    } catch (error) {
      count(undefined, "invalid");
      request.log.warn({ webhookId, reason: (error as Error).message }, "refused a signed Composio webhook: not a V3 envelope");
      throw error;
    }

    // Overload: refuse deliberately (nothing stored, Composio retries) rather than wait for the pool without bound.
    if (inFlight >= maxInFlight) {
      count(envelope.type, "shed");
      reply.header("retry-after", String(WEBHOOK_RETRY_AFTER_SECONDS));
      throw new AppError("UNAVAILABLE", "Too many webhook deliveries in progress: retry shortly");
    }
    inFlight += 1;
    try {
      // Committed before anything is enqueued or answered; concurrent deliveries share one INSERT (see WebhookStore).
      // A trigger message is claimed by the INSERT that stores it: only the request whose INSERT won publishes it,
      // and a copy arriving meanwhile (even before the row is marked applied) sees the live claim and does nothing.
      const fastPath = envelope.type === COMPOSIO_WEBHOOK_TYPES.triggerMessage;
      const claim = ingestClaim(randomUUID());
      const inserted = await store.insert({
        id: webhookId,
        type: envelope.type,
        tenantId: tenantIdOf(envelope),
        payload: storableJson(envelope),
        claimedBy: fastPath ? claim : null,
      });
      if (inserted) {
        if (fastPath && (await publishTriggerMessage(webhookId, envelope, claim, request.log))) {
          count(envelope.type, "published");
          return { received: true, duplicate: false };
        }
        await enqueue(webhookId);
        count(envelope.type, "accepted");
        request.log.info({ webhookId, type: envelope.type }, "stored a Composio webhook");
        return { received: true, duplicate: false };
      }

      // A delivery we already have. Normally nothing to do; but when an earlier attempt stored the row and failed to
      // enqueue (we answered 500), the row is unprocessed and there is no job: enqueue it now. Not while the request
      // that stored it holds a live claim: it is publishing it (or handing it over) right now.
      const row = await prisma.webhookEvent.findUnique({ where: { id: webhookId }, select: { processedAt: true, claimedAt: true } });
      const claimLive = row?.claimedAt != null && row.claimedAt.getTime() > Date.now() - WEBHOOK_CLAIM_LEASE_MS;
      if (row && row.processedAt === null && !claimLive && (await queue.getJob(webhookId)) === undefined) {
        await enqueue(webhookId);
        count(envelope.type, "requeued");
        request.log.warn({ webhookId, type: envelope.type }, "re-enqueued a stored Composio webhook that had no job");
      } else {
        count(envelope.type, "duplicate");
      }
      return { received: true, duplicate: true };
    } catch (error) {
      count(envelope.type, "failed");
      throw error;
    } finally {
      inFlight -= 1;
    }
  });
}
