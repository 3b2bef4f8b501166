import { z } from "zod";

const perMinute = z.number().int().min(1).max(1_000_000);

/**
 * A tenant's overrides of the request rate limits (requests per minute); a limit left out or null takes the
 * default from the config (RATE_LIMIT_*). A limit name that does not exist is refused (400).
 */
export const tenantRateLimitsSchema = z
  .object({
    /** Each of the tenant's API keys. */
    api_key_per_minute: perMinute.nullable().optional(),
    /** Each of the tenant's users, over all their user tokens. */
    user_per_minute: perMinute.nullable().optional(),
  })
  .strict();

export type TenantRateLimits = z.infer<typeof tenantRateLimitsSchema>;

export const tenantIdParamsSchema = z.object({ id: z.uuid() });

/** The limits in force for a tenant, and which of them are its own. */
export const effectiveRateLimitsSchema = z.object({
  tenant_id: z.uuid(),
  api_key_per_minute: z.number().int(),
  user_per_minute: z.number().int(),
  overrides: z.object({ api_key_per_minute: z.number().int().nullable(), user_per_minute: z.number().int().nullable() }),
});
