import { connectionRefParamsSchema, verifyConnectionBodySchema, verifyConnectionResponseSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { verifyConnection } from "../use-cases/verify-connection.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

/** The tenant's backend only: the browser brings the code, the backend's own session says who the user is. */
const TENANT_BACKEND = { auth: ["api_key"] as const, scope: "connections" as const };

export const signInVerificationRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    "/api/v1/composio/connections/:id/verify",
    {
      config: TENANT_BACKEND,
      schema: {
        tags: ["connections"],
        summary: "Confirm that the user back from a sign-in is the user who asked (your user verifier)",
        description:
          "With a verification URL set (PUT /api/v1/tenant/settings), the browser back from Composio is sent there with " +
          "connection_id and a one-time code. Your backend confirms the code for the user its own session names: the " +
          "same user, and the connection becomes ACTIVE (answered once the worker has re-read Composio, up to " +
          "CONNECT_WAIT_MS; else INITIATED with verification CONFIRMED, ACTIVE as soon as Composio's account is). " +
          "Another user: 403 VERIFICATION_USER_MISMATCH and the connection fails. A code used before: 409 " +
          "VERIFICATION_CODE_USED; expired: 410 VERIFICATION_CODE_EXPIRED; not this connection's: 403 " +
          "VERIFICATION_CODE_INVALID. Every refusal is audited.",
        security: API_KEY_SECURITY,
        params: connectionRefParamsSchema,
        body: verifyConnectionBodySchema,
        response: { 200: verifyConnectionResponseSchema, ...errorResponses(400, 401, 403, 404, 409, 410, 415, 503) },
      },
    },
    async (request) => verifyConnection(ctx, tenantPrincipal(request), request.params.id, request.body),
  );
};
