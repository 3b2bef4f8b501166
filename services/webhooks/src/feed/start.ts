import type { PrismaClient } from "@kronos/db";
import { compareEventIds, decodeStreamEntry, eventKeys, type Principal, type Redis, toFeedEvent } from "@kronos/shared";
import type { FeedClient } from "./client.js";
import type { ResumeGapMessage, SnapshotConnection, SnapshotMessage } from "./protocol.js";

const REPLAY_PAGE = 500;

export interface StartDeps {
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  snapshotLimit: number;
}

interface StreamInfo {
  length: number;
  entriesAdded: number;
  firstId: string | null;
  lastGeneratedId: string;
}

/** XINFO STREAM, or null when the tenant has no stream yet. */
async function streamInfo(redis: Redis, key: string): Promise<StreamInfo | null> {
  let raw: unknown[];
  try {
    raw = (await redis.call("XINFO", "STREAM", key)) as unknown[];
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return null;
    throw error;
  }
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), raw[i + 1]);
  const first = fields.get("first-entry");
  return {
    length: Number(fields.get("length") ?? 0),
    entriesAdded: Number(fields.get("entries-added") ?? 0),
    firstId: Array.isArray(first) && typeof first[0] === "string" ? first[0] : null,
    lastGeneratedId: String(fields.get("last-generated-id") ?? "0-0"),
  };
}

/** The current status of the connections a principal may see, most recently updated first. */
async function loadSnapshot(prisma: PrismaClient, principal: Principal, limit: number): Promise<SnapshotMessage> {
  const rows = await prisma.connection.findMany({
    where: { tenantId: principal.tenantId, ...(principal.kind === "user" ? { userId: principal.userId } : {}) },
    orderBy: [{ updatedAt: "desc" }, { id: "asc" }],
    take: limit + 1,
    select: { id: true, userId: true, toolkitSlug: true, status: true, statusReason: true, labels: true, updatedAt: true },
  });
  const connections: SnapshotConnection[] = rows.slice(0, limit).map((row) => ({
    connection_id: row.id,
    user_id: row.userId,
    toolkit: row.toolkitSlug,
    status: row.status,
    status_reason: row.statusReason,
    labels: row.labels,
    updated_at: row.updatedAt.toISOString(),
  }));
  return { type: "snapshot", ts: new Date().toISOString(), connections, truncated: rows.length > limit };
}

/**
 * Starts a registered client (it already holds live events):
 *   1. the stream's position (XINFO): without `since`, the feed starts there;
 *   2. the snapshot, read after that position, so it covers every event at or before it;
 *   3. `resume.gap` when events after `since` may have been trimmed, then the snapshot;
 *   4. the stream's events after the start (exclusive), then the held live events after the last one replayed.
 * No gap: the client was registered before anything was read. No duplicate: the client's cursor.
 */
export async function startClient(deps: StartDeps, client: FeedClient, since: string | null): Promise<void> {
  const key = eventKeys(deps.prefix).stream(client.tenantId);
  const info = await streamInfo(deps.redis, key);
  const snapshot = await loadSnapshot(deps.prisma, client.principal, deps.snapshotLimit);
  const head = info?.lastGeneratedId ?? "0-0";
  let from = head;
  if (since !== null) {
    if (info?.firstId && info.entriesAdded > info.length && compareEventIds(since, info.firstId) < 0) {
      const gap: ResumeGapMessage = { type: "resume.gap", since, oldest_id: info.firstId };
      client.send(JSON.stringify(gap));
    }
    // A `since` ahead of the stream (another deployment's id, say) must not hide the events to come.
    if (compareEventIds(since, head) < 0) from = since;
  }
  client.send(JSON.stringify(snapshot));
  client.advance(from);
  await replayAndGoLive(deps, client);
}

/**
 * Sends the tenant stream's events after the client's cursor, page by page, then goes live (sending the held
 * events after the last replayed id). Used at start and to catch up after the subscriber lost its connection.
 */
export async function replayAndGoLive(deps: Pick<StartDeps, "redis" | "prefix">, client: FeedClient): Promise<void> {
  const key = eventKeys(deps.prefix).stream(client.tenantId);
  let cursor = client.cursor ?? "0-0";
  for (;;) {
    const entries = await deps.redis.xrange(key, `(${cursor}`, "+", "COUNT", REPLAY_PAGE);
    const page: string[] = [];
    for (const [id, fields] of entries) {
      cursor = id;
      const body = fields[1];
      if (fields[0] !== "e" || body === undefined) continue;
      const decoded = decodeStreamEntry(id, body);
      if (decoded && client.sees(decoded.userId)) page.push(JSON.stringify(toFeedEvent(decoded)));
    }
    // Wait for the page to reach the socket before reading the next one: a long replay never piles up in memory.
    if (!(await client.sendPage(page))) return;
    client.advance(cursor);
    // Read again when the subscriber reconnected meanwhile: this page may predate events the channel lost.
    if (entries.length < REPLAY_PAGE && !client.takeCatchUpRequest()) break;
  }
  client.goLive();
}
