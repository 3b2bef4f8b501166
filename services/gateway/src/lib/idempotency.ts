import { hash } from "node:crypto";
import { AppError, type Redis } from "@kronos/shared";

/** JSON with object keys sorted at every depth: two requests that mean the same thing hash the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export const requestHash = (request: unknown) => hash("sha256", canonicalJson(request), "hex");

export const idempotencyRedisKey = (prefix: string, tenantId: string, key: string) => `${prefix}:idempotency:${tenantId}:${key}`;

export type Claim = { kind: "new" } | { kind: "replay"; id: string };

/**
 * Claims an Idempotency-Key for `id` (SET NX EX). A key already claimed by the same request is a replay of its id;
 * by another request, a conflict.
 */
export async function claimIdempotencyKey(redis: Redis, redisKey: string, id: string, hash: string, ttlSeconds: number): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if ((await redis.set(redisKey, `${id}|${hash}`, "EX", ttlSeconds, "NX")) === "OK") return { kind: "new" };
    const existing = await redis.get(redisKey);
    if (existing === null) continue; // expired in between: claim again
    const [existingId, existingHash] = existing.split("|");
    if (!existingId || existingHash !== hash)
      throw new AppError("CONFLICT", "This Idempotency-Key was already used with a different request");
    return { kind: "replay", id: existingId };
  }
  throw new AppError("CONFLICT", "This Idempotency-Key is being claimed concurrently: retry");
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Gives a claim back (when the request it was made for could not be enqueued). */
export async function releaseIdempotencyKey(redis: Redis, redisKey: string, id: string, hash: string): Promise<void> {
  await redis.eval(RELEASE, 1, redisKey, `${id}|${hash}`);
}
