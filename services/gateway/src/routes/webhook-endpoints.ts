import {
  createWebhookEndpointBodySchema,
  listDeliveriesQuerySchema,
  pageOf,
  paginationQuerySchema,
  replayBodySchema,
  replayResultSchema,
  updateWebhookEndpointBodySchema,
  webhookDeliveryParamsSchema,
  webhookDeliveryViewSchema,
  webhookEndpointIdParamsSchema,
  webhookEndpointViewSchema,
  webhookEndpointWithSecretSchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { listDeliveries, replayDeliveries, retryDelivery } from "../use-cases/webhook-deliveries.js";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookEndpointSecret,
  setWebhookEndpointEnabled,
  updateWebhookEndpoint,
} from "../use-cases/webhook-endpoints.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const BASE = "/api/v1/webhook-endpoints";
/** The tenant's servers' business: API keys only. */
const API_KEY_ONLY = { auth: ["api_key"] as const, scope: "webhooks" as const };
const tags = ["webhook-endpoints"];

/** Outbound webhooks: the tenant's endpoints, their delivery logs, retries and replays (docs/webhooks-out.md). */
export const webhookEndpointRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    BASE,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Add an endpoint that receives the tenant's events as signed webhooks (Standard Webhooks)",
        description: "Answers the signing secret once. `events` empty or absent: every event type.",
        security: API_KEY_SECURITY,
        body: createWebhookEndpointBodySchema,
        response: { 201: webhookEndpointWithSecretSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request, reply) => reply.status(201).send(await createWebhookEndpoint(ctx, tenantPrincipal(request), request.body)),
  );

  app.get(
    BASE,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "List the tenant's webhook endpoints, newest first",
        security: API_KEY_SECURITY,
        querystring: paginationQuerySchema,
        response: { 200: pageOf(webhookEndpointViewSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listWebhookEndpoints(ctx, tenantPrincipal(request), request.query),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Get one webhook endpoint",
        security: API_KEY_SECURITY,
        params: webhookEndpointIdParamsSchema,
        response: { 200: webhookEndpointViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getWebhookEndpoint(ctx, tenantPrincipal(request), request.params.id),
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Change an endpoint's url, events or description",
        security: API_KEY_SECURITY,
        params: webhookEndpointIdParamsSchema,
        body: updateWebhookEndpointBodySchema,
        response: { 200: webhookEndpointViewSchema, ...errorResponses(400, 401, 403, 404, 415) },
      },
    },
    async (request) => updateWebhookEndpoint(ctx, tenantPrincipal(request), request.params.id, request.body),
  );

  for (const [action, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    app.post(
      `${BASE}/:id/${action}`,
      {
        config: API_KEY_ONLY,
        schema: {
          tags,
          summary: `${enabled ? "Enable" : "Disable"} a webhook endpoint`,
          security: API_KEY_SECURITY,
          params: webhookEndpointIdParamsSchema,
          response: { 200: webhookEndpointViewSchema, ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => setWebhookEndpointEnabled(ctx, tenantPrincipal(request), request.params.id, enabled),
    );
  }

  app.delete(
    `${BASE}/:id`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Delete a webhook endpoint and its delivery log",
        security: API_KEY_SECURITY,
        params: webhookEndpointIdParamsSchema,
        response: { 204: z.null().describe("Deleted"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteWebhookEndpoint(ctx, tenantPrincipal(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${BASE}/:id/rotate-secret`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Replace the signing secret",
        description: "Answers the new secret once; the previous one signs too until previous_secret_expires_at.",
        security: API_KEY_SECURITY,
        params: webhookEndpointIdParamsSchema,
        response: { 200: webhookEndpointWithSecretSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => rotateWebhookEndpointSecret(ctx, tenantPrincipal(request), request.params.id),
  );

  app.get(
    `${BASE}/:id/deliveries`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "The endpoint's delivery log, newest first",
        security: API_KEY_SECURITY,
        params: webhookEndpointIdParamsSchema,
        querystring: listDeliveriesQuerySchema,
        response: { 200: pageOf(webhookDeliveryViewSchema), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => listDeliveries(ctx, tenantPrincipal(request), request.params.id, request.query),
  );

  app.post(
    `${BASE}/:id/deliveries/:delivery_id/retry`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Send a delivery again now, with a fresh retry schedule",
        security: API_KEY_SECURITY,
        params: webhookDeliveryParamsSchema,
        response: { 202: webhookDeliveryViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await retryDelivery(ctx, tenantPrincipal(request), request.params.id, request.params.delivery_id)),
  );

  app.post(
    `${BASE}/:id/replay`,
    {
      config: API_KEY_ONLY,
      schema: {
        tags,
        summary: "Send again every event after `since` that the tenant's event stream still holds",
        description: "`since`: an event id or an ISO date. The stream keeps the last EVENT_RETENTION_COUNT events.",
        security: API_KEY_SECURITY,
        params: webhookEndpointIdParamsSchema,
        body: replayBodySchema,
        response: { 202: replayResultSchema, ...errorResponses(400, 401, 403, 404, 415) },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await replayDeliveries(ctx, tenantPrincipal(request), request.params.id, request.body.since)),
  );
};
