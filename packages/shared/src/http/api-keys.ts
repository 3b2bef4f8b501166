import { z } from "zod";
import { KEY_SCOPES } from "../scopes.js";

/** Most API keys a tenant may have working at once (rotation overlaps count). */
export const MAX_ACTIVE_API_KEYS = 50;
/** Longest overlap of a rotation: the old key keeps working this long at most. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 86_400;

const keyScopesSchema = z
  .array(z.enum(KEY_SCOPES))
  .min(1)
  .max(KEY_SCOPES.length)
  .refine((scopes) => new Set(scopes).size === scopes.length, "scopes must not repeat")
  .describe('What the key may do; "*" is every scope (what keys made before scopes hold).');

export const apiKeyViewSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    /** The first characters of the key, to recognise it; never the key. */
    prefix: z.string(),
    scopes: z.array(z.string()),
    created_at: z.iso.datetime(),
    last_used_at: z.iso.datetime().nullable(),
    /** Set on a rotated key: it stops working then. */
    expires_at: z.iso.datetime().nullable(),
    revoked_at: z.iso.datetime().nullable(),
  })
  .meta({ id: "ApiKey" });

export const apiKeyListSchema = z.object({ items: z.array(apiKeyViewSchema) });

export const createApiKeyBodySchema = z
  .object({
    name: z.string().trim().max(200).default(""),
    scopes: keyScopesSchema.default(["*"]),
  })
  .strict();

/** A new key: the only answer that carries it. */
export const createdApiKeySchema = apiKeyViewSchema.extend({ api_key: z.string() });

export const apiKeyIdParamsSchema = z.object({ id: z.uuid() });

export const rotateApiKeyBodySchema = z
  .object({
    /** How long the old key keeps working, so that clients can switch (0: it stops at once). */
    overlap_seconds: z.number().int().min(0).max(MAX_ROTATION_OVERLAP_SECONDS).default(3_600),
  })
  .strict();
