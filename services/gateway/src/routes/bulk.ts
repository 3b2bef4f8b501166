import {
  bulkAcceptedSchema,
  bulkConnectionIdsBodySchema,
  bulkIdParamsSchema,
  bulkInitiateBodySchema,
  bulkResultSchema,
  bulkViewSchema,
} from "@kronos/shared";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { getBulk } from "../use-cases/read-bulk.js";
import { type BulkOutcome, startBulk } from "../use-cases/start-bulk.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

const TENANT = { auth: ["api_key", "user"] as const, scope: "connections" as const };
const DESCRIPTION =
  "Each item runs as its own job; one item's failure never hides another's success (items that are not the " +
  "caller's fail alone, NOT_FOUND). 200 with one result per item, in request order, when every item finished " +
  "within CONNECT_WAIT_MS; otherwise 202 with a poll_url (GET /api/v1/composio/bulk/{bulk_id}).";
const answers = { 200: bulkResultSchema, 202: bulkAcceptedSchema, ...errorResponses(400, 401, 403, 415, 502, 503) };

/** Sends an outcome (the reply is typed loosely: each route declares its own answers). */
function send(reply: FastifyReply, outcome: BulkOutcome): void {
  if (outcome.kind === "accepted") return void reply.status(202).header("location", outcome.body.poll_url).send(outcome.body);
  reply.status(200).send(outcome.body);
}

export const bulkRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    "/api/v1/composio/connections/bulk/initiate",
    {
      config: TENANT,
      schema: {
        tags: ["bulk"],
        summary: "Start connecting up to 25 accounts of one user",
        description: DESCRIPTION,
        security: TENANT_SECURITY,
        body: bulkInitiateBodySchema,
        response: answers,
      },
    },
    async (request, reply) => {
      send(reply, await startBulk(ctx, tenantPrincipal(request), { kind: "connect", body: request.body }));
    },
  );

  for (const kind of ["disable", "delete"] as const) {
    app.post(
      `/api/v1/composio/connections/bulk/${kind}`,
      {
        config: TENANT,
        schema: {
          tags: ["bulk"],
          summary: `${kind === "disable" ? "Disable" : "Revoke and delete"} up to 25 connections`,
          description: DESCRIPTION,
          security: TENANT_SECURITY,
          body: bulkConnectionIdsBodySchema,
          response: answers,
        },
      },
      async (request, reply) => {
        send(reply, await startBulk(ctx, tenantPrincipal(request), { kind, body: request.body }));
      },
    );
  }

  app.get(
    "/api/v1/composio/bulk/:id",
    {
      config: TENANT,
      schema: {
        tags: ["bulk"],
        summary: "A bulk operation: its results once finished, RUNNING until then",
        security: TENANT_SECURITY,
        params: bulkIdParamsSchema,
        response: { 200: bulkViewSchema, ...errorResponses(400, 401, 403, 404, 502, 503) },
      },
    },
    async (request) => getBulk(ctx, tenantPrincipal(request), request.params.id),
  );
};
