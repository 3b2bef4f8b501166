import { z } from "zod";
import { labelsSchema, userIdSchema } from "../domain.js";
import { bulkCompletedEventDataSchema } from "../events/schemas.js";
import { initiateConnectionBodySchema } from "./connections.js";

export const updateLabelsBodySchema = z.object({ labels: labelsSchema }).strict();

/** A connection operation still running when the wait ended: GET poll_url for the connection's state. */
export const connectionOpAcceptedSchema = z.object({
  connection_id: z.uuid(),
  op: z.string(),
  status: z.literal("PENDING"),
  poll_url: z.string(),
});

export const BULK_MAX_ITEMS = 25;

export const bulkInitiateBodySchema = z
  .object({
    user_id: userIdSchema,
    items: z
      .array(initiateConnectionBodySchema.omit({ user_id: true }))
      .min(1)
      .max(BULK_MAX_ITEMS),
  })
  .strict();
export type BulkInitiateBody = z.infer<typeof bulkInitiateBodySchema>;

/** Ids are checked one by one: an id that is not the caller's fails that item only (NOT_FOUND in its result). */
export const bulkConnectionIdsBodySchema = z
  .object({ connection_ids: z.array(z.string().min(1).max(100)).min(1).max(BULK_MAX_ITEMS) })
  .strict();
export type BulkConnectionIdsBody = z.infer<typeof bulkConnectionIdsBodySchema>;

/** Every item finished within the wait: one result per item, in request order. */
export const bulkResultSchema = bulkCompletedEventDataSchema.meta({ id: "BulkResult" });
export type BulkResult = z.infer<typeof bulkResultSchema>;

export const bulkAcceptedSchema = z.object({ bulk_id: z.uuid(), status: z.literal("RUNNING"), poll_url: z.string() });

/** GET /bulk/{id}: the finished operation, or RUNNING while items are still running. */
export const bulkViewSchema = z.object({
  bulk_id: z.uuid(),
  status: z.enum(["RUNNING", "COMPLETED"]),
  kind: z.string().optional(),
  item_count: z.number().int().optional(),
  succeeded: z.number().int().optional(),
  failed: z.number().int().optional(),
  results: bulkCompletedEventDataSchema.shape.results.optional(),
  created_at: z.iso.datetime().optional(),
  completed_at: z.iso.datetime().nullable().optional(),
});
export type BulkView = z.infer<typeof bulkViewSchema>;
export const bulkIdParamsSchema = z.object({ id: z.uuid() });
