import { z } from "zod";

export const createTenantBodySchema = z.object({ name: z.string().trim().min(1).max(200) }).strict();
export const createTenantResponseSchema = z.object({
  tenant_id: z.uuid(),
  name: z.string(),
  /** Shown once; only its hash is stored. */
  api_key: z.string(),
});
