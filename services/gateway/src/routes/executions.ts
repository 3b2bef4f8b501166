import {
  executeToolBodySchema,
  executeToolQuerySchema,
  executionAcceptedSchema,
  executionIdParamsSchema,
  executionViewSchema,
  idempotencyKeySchema,
} from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { executeTool } from "../use-cases/execute-tool.js";
import { getExecution } from "../use-cases/read-executions.js";
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
      if (outcome.kind === "done") return reply.status(200).send(outcome.body);
      return reply.status(202).header("location", outcome.body.poll_url).send(outcome.body);
    },
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
};
