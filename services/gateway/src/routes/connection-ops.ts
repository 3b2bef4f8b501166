import { connectionOpAcceptedSchema, connectionRefParamsSchema, connectionViewSchema, updateLabelsBodySchema } from "@kronos/shared";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { type ConnectionOpOutcome, changeConnection } from "../use-cases/change-connection.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

const BASE = "/api/v1/composio/connections";
const WAIT = "The worker does it; the answer is the connection read back, or 202 with a poll_url after CONNECT_WAIT_MS.";
const TENANT = { auth: ["api_key", "user"] as const, scope: "connections" as const };
const changed = { 200: connectionViewSchema, 202: connectionOpAcceptedSchema, ...errorResponses(400, 401, 403, 404, 409, 502, 503) };

/** Sends an outcome (the reply is typed loosely: each route declares its own answers). */
function send(reply: FastifyReply, outcome: ConnectionOpOutcome): void {
  if (outcome.kind === "deleted") return void reply.status(204).send();
  reply.status(outcome.kind === "accepted" ? 202 : 200).send(outcome.body);
}

const SIMPLE_OPS = [
  ["enable", "Enable a connection (Composio lets agents use it again)"],
  ["disable", "Disable a connection (kept, but unusable until enabled)"],
  ["refresh", "Restart the OAuth flow: the answer carries the new redirect_url (status INITIATED)"],
] as const;

export const connectionOpRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  for (const [op, summary] of SIMPLE_OPS) {
    app.post(
      `${BASE}/:id/${op}`,
      {
        config: TENANT,
        schema: {
          tags: ["connections"],
          summary,
          description: WAIT,
          security: TENANT_SECURITY,
          params: connectionRefParamsSchema,
          response: changed,
        },
      },
      async (request, reply) => {
        send(reply, await changeConnection(ctx, tenantPrincipal(request), request.params.id, op));
      },
    );
  }

  app.delete(
    `${BASE}/:id`,
    {
      config: TENANT,
      schema: {
        tags: ["connections"],
        summary: "Revoke a connection at Composio, then delete it",
        description: "204 once done; 202 with a poll_url after CONNECT_WAIT_MS.",
        security: TENANT_SECURITY,
        params: connectionRefParamsSchema,
        response: {
          204: z.null().describe("Deleted"),
          202: connectionOpAcceptedSchema,
          ...errorResponses(400, 401, 403, 404, 409, 502, 503),
        },
      },
    },
    async (request, reply) => {
      send(reply, await changeConnection(ctx, tenantPrincipal(request), request.params.id, "delete"));
    },
  );

  app.put(
    `${BASE}/:id/labels`,
    {
      config: TENANT,
      schema: {
        tags: ["connections"],
        summary: "Replace a connection's labels",
        description: WAIT,
        security: TENANT_SECURITY,
        params: connectionRefParamsSchema,
        body: updateLabelsBodySchema,
        response: { ...changed, ...errorResponses(415) },
      },
    },
    async (request, reply) => {
      send(reply, await changeConnection(ctx, tenantPrincipal(request), request.params.id, "update_labels", request.body.labels));
    },
  );
};
