import { llmToolsQuerySchema, llmToolsResponseSchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { listLlmTools } from "../use-cases/list-llm-tools.js";
import { errorResponses, TENANT_SECURITY } from "./responses.js";

export const toolRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    "/api/v1/tools",
    {
      config: { auth: ["api_key", "user"] as const, scope: "catalogue" as const },
      schema: {
        tags: ["agents"],
        summary: "The actions a user may run, as function-calling tools for a model",
        description:
          "format=openai (Chat Completions `tools` items), anthropic (Messages API `tools` items) or json_schema. The tool " +
          "policy is applied; each item's `definition` goes to the model as it is, and `action` is the slug to execute " +
          "when the model calls `name`. Without toolkits, the toolkits the user has connected.",
        security: TENANT_SECURITY,
        querystring: llmToolsQuerySchema,
        response: { 200: llmToolsResponseSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => listLlmTools(ctx, tenantPrincipal(request), request.query),
  );
};
