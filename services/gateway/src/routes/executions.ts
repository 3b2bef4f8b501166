import {
  approveExecutionBodySchema,
  cancelExecutionBodySchema,
  denyExecutionBodySchema,
  executeToolBodySchema,
  executeToolQuerySchema,
  executionAcceptedSchema,
  executionIdParamsSchema,
  executionPageSchema,
  executionViewSchema,
  idempotencyKeySchema,
  listExecutionsQuerySchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { executeTool } from "../use-cases/execute-tool.js";
import { cancelExecution, decideExecution } from "../use-cases/execution-decisions.js";
import { getExecution, listExecutions } from "../use-cases/read-executions.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

const TENANT = { auth: ["api_key", "user"] as const, scope: "executions" as const };

export const executionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    "/api/v1/composio/tools/execute",
    {
      config: TENANT,
      schema: {
        tags: ["executions"],
        summary: "Run an action for a user",
        description:
          "202 with a poll_url (also in Location); with ?wait=N (0 < N <= EXECUTE_MAX_WAIT_SECONDS) 200 with the " +
          "execution if it finished within N seconds. Idempotency-Key: the same request again returns the same " +
          "execution (header idempotent-replay: true); the key with another request is 409.",
        security: TENANT_SECURITY,
        headers: z.looseObject({ "idempotency-key": idempotencyKeySchema.optional() }),
        querystring: executeToolQuerySchema,
        body: executeToolBodySchema,
        response: {
          200: executionViewSchema,
          202: executionAcceptedSchema,
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 502, 503),
        },
      },
    },
    async (request, reply) => {
      const outcome = await executeTool(ctx, tenantPrincipal(request), request.body, {
        waitSeconds: request.query.wait,
        idempotencyKey: request.headers["idempotency-key"],
      });
      if (outcome.replay) reply.header("idempotent-replay", "true");
      if (outcome.kind === "done") {
        // The worker's own view of the finished execution (toExecutionView, the response schema's type): a string
        // with a JSON content type is sent as it is (no second validation and serialisation on the hot path).
        if (outcome.json !== undefined)
          return reply
            .status(200)
            .type("application/json; charset=utf-8")
            .send(outcome.json as never);
        return reply.status(200).send(outcome.body);
      }
      return reply.status(202).header("location", outcome.body.poll_url).send(outcome.body);
    },
  );

  app.get(
    "/api/v1/composio/executions",
    {
      config: TENANT,
      schema: {
        tags: ["executions"],
        summary: "List executions, newest first (filter by status, e.g. AWAITING_APPROVAL, and user)",
        description: "A user token sees its own user's executions only. Executions still queued without a row are not listed.",
        security: TENANT_SECURITY,
        querystring: listExecutionsQuerySchema,
        response: { 200: executionPageSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listExecutions(ctx, tenantPrincipal(request), request.query),
  );

  app.get(
    "/api/v1/composio/executions/:id",
    {
      config: TENANT,
      schema: {
        tags: ["executions"],
        summary: "Get an execution (QUEUED or RUNNING until the worker finishes it)",
        security: TENANT_SECURITY,
        params: executionIdParamsSchema,
        response: { 200: executionViewSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getExecution(ctx, tenantPrincipal(request), request.params.id),
  );

  const decided = { 200: executionViewSchema, ...errorResponses(400, 401, 403, 404, 409, 415) };
  const DECIDE =
    "By the user's own token, or by an API key when the tool policy says api_key_may_approve. Once: a second decision, " +
    "or one after APPROVAL_TTL_SECONDS (the execution then ends EXPIRED), is 409 with the current status in details.";

  app.post(
    "/api/v1/composio/executions/:id/approve",
    {
      config: TENANT,
      schema: {
        tags: ["executions"],
        summary: "Approve an execution waiting AWAITING_APPROVAL: it is queued with exactly its arguments",
        description: `${DECIDE} With arguments_hash (from execution.approval_requested), the approval covers those arguments only.`,
        security: TENANT_SECURITY,
        params: executionIdParamsSchema,
        body: approveExecutionBodySchema.nullish(),
        response: decided,
      },
    },
    async (request) =>
      decideExecution(ctx, tenantPrincipal(request), request.params.id, {
        approve: true,
        argumentsHash: request.body?.arguments_hash,
        reason: request.body?.reason,
      }),
  );

  app.post(
    "/api/v1/composio/executions/:id/deny",
    {
      config: TENANT,
      schema: {
        tags: ["executions"],
        summary: "Deny an execution waiting AWAITING_APPROVAL: it ends DENIED with the reason",
        description: DECIDE,
        security: TENANT_SECURITY,
        params: executionIdParamsSchema,
        body: denyExecutionBodySchema.nullish(),
        response: decided,
      },
    },
    async (request) => decideExecution(ctx, tenantPrincipal(request), request.params.id, { approve: false, reason: request.body?.reason }),
  );

  app.post(
    "/api/v1/composio/executions/:id/cancel",
    {
      config: TENANT,
      schema: {
        tags: ["executions"],
        summary: "Cancel a QUEUED or parked execution (a RUNNING one is never cut off: 409 with its status)",
        security: TENANT_SECURITY,
        params: executionIdParamsSchema,
        body: cancelExecutionBodySchema.nullish(),
        response: decided,
      },
    },
    async (request) => cancelExecution(ctx, tenantPrincipal(request), request.params.id, request.body?.reason),
  );
};
