import {
  createTriggerBodySchema,
  listTriggersQuerySchema,
  listTriggerTypesQuerySchema,
  pageOf,
  triggerIdParamsSchema,
  triggerOpAcceptedSchema,
  triggerTypePageSchema,
  triggerTypeResponseSchema,
  triggerTypeSlugParamsSchema,
  triggerViewSchema,
  updateTriggerBodySchema,
} from "@kronos/shared";
import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { changeTrigger, createTrigger, getTrigger, listTriggers, type TriggerOutcome } from "../use-cases/manage-triggers.js";
import { getTriggerType, listTriggerTypes } from "../use-cases/read-catalogue.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

const BASE = "/api/v1/composio/triggers";
const TENANT = { auth: ["api_key", "user"] as const, scope: "triggers" as const };
const WAIT = "The worker does it at Composio; the answer is the trigger read back, or 202 with a poll_url after CONNECT_WAIT_MS.";
const CACHED = "Read from Composio and cached like the toolkits (TOOLKIT_CACHE_TTL_SECONDS; header x-cache: hit, miss or stale).";
const changed = { 200: triggerViewSchema, 202: triggerOpAcceptedSchema, ...errorResponses(400, 401, 403, 404, 409, 502, 503) };

function send(reply: FastifyReply, outcome: TriggerOutcome, doneStatus = 200): void {
  if (outcome.kind === "deleted") return void reply.status(204).send();
  reply.status(outcome.kind === "accepted" ? 202 : doneStatus).send(outcome.body);
}

export const triggerRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    `${BASE}/types`,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "List trigger types (of one toolkit with ?toolkit=)",
        description: CACHED,
        security: TENANT_SECURITY,
        querystring: listTriggerTypesQuerySchema,
        response: { 200: triggerTypePageSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { body, cacheState } = await listTriggerTypes(ctx, request.query);
      return reply.header("x-cache", cacheState).send(body);
    },
  );

  app.get(
    `${BASE}/types/:slug`,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "Get a trigger type, with the JSON schema of its config",
        description: CACHED,
        security: TENANT_SECURITY,
        params: triggerTypeSlugParamsSchema,
        response: { 200: triggerTypeResponseSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { body, cacheState } = await getTriggerType(ctx, request.params.slug);
      return reply.header("x-cache", cacheState).send(body);
    },
  );

  app.post(
    BASE,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "Create a trigger on a user's connection",
        description: `The config is checked against the type's schema first (400 naming the field). ${WAIT} 201 once created.`,
        security: TENANT_SECURITY,
        body: createTriggerBodySchema,
        response: { 201: triggerViewSchema, 202: triggerOpAcceptedSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 502, 503) },
      },
    },
    async (request, reply) => {
      send(reply, await createTrigger(ctx, tenantPrincipal(request), request.body), 201);
    },
  );

  app.get(
    BASE,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "List triggers, newest first",
        description: "A user token sees its own user's triggers only.",
        security: TENANT_SECURITY,
        querystring: listTriggersQuerySchema,
        response: { 200: pageOf(triggerViewSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listTriggers(ctx, tenantPrincipal(request), request.query),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "Get a trigger",
        security: TENANT_SECURITY,
        params: triggerIdParamsSchema,
        response: { 200: triggerViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getTrigger(ctx, tenantPrincipal(request), request.params.id),
  );

  for (const op of ["enable", "disable"] as const) {
    app.post(
      `${BASE}/:id/${op}`,
      {
        config: TENANT,
        schema: {
          tags: ["triggers"],
          summary: `${op === "enable" ? "Enable" : "Disable"} a trigger at Composio`,
          description: WAIT,
          security: TENANT_SECURITY,
          params: triggerIdParamsSchema,
          response: changed,
        },
      },
      async (request, reply) => {
        send(reply, await changeTrigger(ctx, tenantPrincipal(request), request.params.id, op));
      },
    );
  }

  app.put(
    `${BASE}/:id`,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "Replace a trigger's config and/or labels",
        description: `A new config is checked against the type's schema, then sent to Composio. ${WAIT}`,
        security: TENANT_SECURITY,
        params: triggerIdParamsSchema,
        body: updateTriggerBodySchema,
        response: { ...changed, ...errorResponses(415) },
      },
    },
    async (request, reply) => {
      send(reply, await changeTrigger(ctx, tenantPrincipal(request), request.params.id, "update", request.body));
    },
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: TENANT,
      schema: {
        tags: ["triggers"],
        summary: "Delete a trigger at Composio, then here",
        description: "204 once done; 202 with a poll_url after CONNECT_WAIT_MS.",
        security: TENANT_SECURITY,
        params: triggerIdParamsSchema,
        response: { 204: z.null().describe("Deleted"), 202: triggerOpAcceptedSchema, ...errorResponses(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request, reply) => {
      send(reply, await changeTrigger(ctx, tenantPrincipal(request), request.params.id, "delete"));
    },
  );
};
