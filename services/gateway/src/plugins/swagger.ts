import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { globalPlugin } from "@kronos/service-kit";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";

const DOCS_PREFIX = "/docs";

/** OpenAPI generated from the same zod schemas that validate requests and serialise answers; UI at /docs. */
export const swaggerPlugin = globalPlugin<{ publicUrl: string }>("swagger", async (app, options) => {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Kronos Connect gateway",
        version: "0.1.0",
        description: "Connect chat users' third-party accounts through Composio.",
      },
      servers: [{ url: options.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "A tenant API key (kc_...)" },
          userToken: { type: "http", scheme: "bearer", description: "A user token (kcu....) from POST /api/v1/sessions" },
          adminToken: { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN" },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
});
