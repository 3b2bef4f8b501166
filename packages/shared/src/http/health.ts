import { z } from "zod";

export const dependencyHealthSchema = z.object({ ok: z.boolean(), latency_ms: z.number().optional(), error: z.string().optional() });

/** The seed's health answer, with what each dependency said. */
export const composioHealthResponseSchema = z.object({
  configured: z.boolean(),
  message: z.string(),
  emulator: z.boolean(),
  dependencies: z.object({ postgres: dependencyHealthSchema, redis: dependencyHealthSchema, composio: dependencyHealthSchema }),
});

export const serviceHealthResponseSchema = z.object({ status: z.literal("ok"), service: z.string() });
