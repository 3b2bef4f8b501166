import { z } from "zod";
import { connectionStatusSchema, labelSchema, labelsSchema, toolkitSlugSchema, userIdSchema } from "../domain.js";
import { paginationQuerySchema } from "./common.js";

/** The seed's EnhancedConnectionRequest. */
export const initiateConnectionBodySchema = z
  .object({
    user_id: userIdSchema,
    app_name: toolkitSlugSchema,
    auth_config_id: z.string().min(1).max(100).optional(),
    redirect_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    labels: labelsSchema.default([]),
  })
  .strict();
export type InitiateConnectionBody = z.infer<typeof initiateConnectionBodySchema>;

export const initiateConnectionResponseSchema = z.object({
  connection_id: z.uuid(),
  redirect_url: z.string().nullable(),
  status: connectionStatusSchema,
  expires_at: z.iso.datetime().nullable(),
});

export const initiateConnectionAcceptedSchema = z.object({
  connection_id: z.uuid(),
  status: z.literal("INITIALIZING"),
  /** GET this until `redirect_url` is set. */
  poll_url: z.string(),
});

export const connectionViewSchema = z
  .object({
    connection_id: z.uuid(),
    user_id: z.string(),
    toolkit: z.string(),
    auth_config_id: z.string().nullable(),
    /** Composio's connected account id ("ca_..."), once Composio has one. */
    connected_account_id: z.string().nullable(),
    status: connectionStatusSchema,
    status_reason: z.string().nullable(),
    labels: z.array(z.string()),
    redirect_url: z.string().nullable(),
    expires_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: "Connection" });
export type ConnectionView = z.infer<typeof connectionViewSchema>;

export const listConnectionsQuerySchema = paginationQuerySchema.extend({
  user_id: userIdSchema.optional(),
  status: connectionStatusSchema.optional(),
  label: labelSchema.optional(),
  toolkit: toolkitSlugSchema.optional(),
});

export const connectionIdParamsSchema = z.object({ id: z.uuid() });

/** Composio's connected account id, as Composio spells it ("ca_..."). */
export const composioAccountIdSchema = z.string().regex(/^ca_[A-Za-z0-9_-]{1,128}$/, 'must be a Composio account id ("ca_...")');
/** How a connection route names a connection: our connection id, or Composio's "ca_..." id (as tools/execute takes). */
export const connectionRefParamsSchema = z.object({
  id: z.union([z.uuid(), composioAccountIdSchema]).describe('Our connection id, or Composio\'s connected account id ("ca_...")'),
});

/**
 * Where Composio sends the user's browser back after sign-in: built by the worker into the connect request, routed by
 * the gateway. The one definition of that path.
 */
export const CONNECTION_CALLBACK_ROUTE = "/api/v1/composio/connections/:id/callback";
export const connectionCallbackPath = (connectionId: string) => CONNECTION_CALLBACK_ROUTE.replace(":id", encodeURIComponent(connectionId));
export const connectionCallbackUrl = (publicGatewayUrl: string, connectionId: string) =>
  `${publicGatewayUrl.replace(/\/+$/, "")}${connectionCallbackPath(connectionId)}`;
