import { CALLBACK_SECRET_PARAM, CONNECTION_CALLBACK_ROUTE, connectionIdParamsSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import {
  CALLBACK_DONE_HTML,
  CALLBACK_FAILED_HTML,
  handleConnectionCallback,
  sanitiseCallbackStatus,
} from "../use-cases/connection-callback.js";
import { errorResponses } from "./responses.js";

/**
 * Composio's query parameters are untrusted and mostly undocumented: anything is accepted, only `status` and our own
 * callback secret (`k`, put in the callback URL we gave Composio) are read.
 */
const callbackQuerySchema = z.looseObject({ status: z.unknown().optional(), [CALLBACK_SECRET_PARAM]: z.unknown().optional() });

export const callbackRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    CONNECTION_CALLBACK_ROUTE,
    {
      schema: {
        tags: ["connections"],
        summary: "Where Composio sends the user's browser after authorising",
        description:
          "Asks the worker to re-read the account now, then redirects (302) to the client's redirect_url with " +
          "connection_id and status (success, failed or unknown) appended, or shows a page the user can close. With " +
          "the tenant's user verifier, redirects to its verification URL with a one-time code, but only when the " +
          "query carries the link's callback secret `k` (as Composio sends it back); otherwise as a failed sign-in.",
        params: connectionIdParamsSchema,
        querystring: callbackQuerySchema,
        response: {
          200: { description: "A page the user can close", content: { "text/html": { schema: z.string() } } },
          302: { description: "Back to the client's redirect_url", content: { "text/plain": { schema: z.string() } } },
          ...errorResponses(400, 404),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const secret = request.query[CALLBACK_SECRET_PARAM];
      const { location, failed } = await handleConnectionCallback(ctx, id, sanitiseCallbackStatus(request.query.status), secret);
      if (location) return reply.redirect(location, 302);
      return reply
        .status(200)
        .type("text/html; charset=utf-8")
        .send(failed ? CALLBACK_FAILED_HTML : CALLBACK_DONE_HTML);
    },
  );
};
