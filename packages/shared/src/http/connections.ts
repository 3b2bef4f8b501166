import { z } from "zod";
import {
  connectionStatusSchema,
  connectionVerificationSchema,
  labelSchema,
  labelsSchema,
  toolkitSlugSchema,
  userIdSchema,
} from "../domain.js";
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
    verification: connectionVerificationSchema
      .nullable()
      .describe(
        "The tenant's confirmation of the sign-in (its user verifier): null when it needs none. A connection awaiting " +
          "it stays INITIATED even once Composio's account is ACTIVE (AWAITING_CONFIRMATION).",
      ),
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
/** The callback URL's query parameter carrying the connection's callback secret (see generateCallbackSecret). */
export const CALLBACK_SECRET_PARAM = "k";
/** The callback URL given to Composio for one link: the connection's path and the secret of that link. */
export const connectionCallbackUrl = (publicGatewayUrl: string, connectionId: string, secret: string) =>
  `${publicGatewayUrl.replace(/\/+$/, "")}${connectionCallbackPath(connectionId)}?${CALLBACK_SECRET_PARAM}=${encodeURIComponent(secret)}`;

export const verificationCodeSchema = z.string().min(1).max(256).describe("The code the browser brought to your verification URL");

/** What the tenant's backend sends once its own session says who the browser's user is. */
export const verifyConnectionBodySchema = z
  .object({
    code: verificationCodeSchema,
    user_id: userIdSchema.describe("The user your session says is in the browser, never a value the browser sent"),
  })
  .strict();
export type VerifyConnectionBody = z.infer<typeof verifyConnectionBodySchema>;

export const verifyConnectionResponseSchema = z
  .object({
    connection: connectionViewSchema,
    next_url: z
      .string()
      .nullable()
      .describe("Where to send the browser next: the redirect_url given at initiation, with connection_id and status"),
  })
  .meta({ id: "ConnectionVerified" });
export type VerifyConnectionResponse = z.infer<typeof verifyConnectionResponseSchema>;
