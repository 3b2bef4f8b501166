import {
  connectionRefParamsSchema,
  connectionViewSchema,
  initiateConnectionAcceptedSchema,
  initiateConnectionBodySchema,
  initiateConnectionResponseSchema,
  listConnectionsQuerySchema,
  pageOf,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { initiateConnection } from "../use-cases/initiate-connection.js";
import { getConnection, listConnections } from "../use-cases/read-connections.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

export const connectionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    "/api/v1/composio/connections/initiate-enhanced",
    {
      config: { auth: ["api_key", "user"], scope: "connections" },
      schema: {
        tags: ["connections"],
        summary: "Start connecting a user's account",
        description:
          "201 with the link to open when the worker answers within CONNECT_WAIT_MS; otherwise 202 with a poll_url " +
          "(also in the Location header) to GET until redirect_url is set.",
        security: TENANT_SECURITY,
        body: initiateConnectionBodySchema,
        response: {
          201: initiateConnectionResponseSchema,
          202: initiateConnectionAcceptedSchema,
          ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503),
        },
      },
    },
    async (request, reply) => {
      const outcome = await initiateConnection(ctx, tenantPrincipal(request), request.body);
      if (outcome.kind === "created") return reply.status(201).send(outcome.body);
      return reply.status(202).header("location", outcome.body.poll_url).send(outcome.body);
    },
  );

  app.get(
    "/api/v1/composio/connections",
    {
      config: { auth: ["api_key", "user"], scope: "connections" },
      schema: {
        tags: ["connections"],
        summary: "List connections, newest first",
        description: "A user token lists its own user's connections only. Follow next_cursor until it is null.",
        security: TENANT_SECURITY,
        querystring: listConnectionsQuerySchema,
        response: { 200: pageOf(connectionViewSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listConnections(ctx, tenantPrincipal(request), request.query),
  );

  app.get(
    "/api/v1/composio/connections/:id",
    {
      config: { auth: ["api_key", "user"], scope: "connections" },
      schema: {
        tags: ["connections"],
        summary: "Get one connection",
        security: TENANT_SECURITY,
        params: connectionRefParamsSchema,
        response: { 200: connectionViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getConnection(ctx, tenantPrincipal(request), request.params.id),
  );
};
