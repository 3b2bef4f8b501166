import { actorOf, tenantSettingsSchema, updateTenantSettingsBodySchema } from "@kronos/shared";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteOptions } from "../context.js";
import { tenantPrincipal } from "../lib/principal.js";
import { getTenantSettings, setTenantSettings } from "../use-cases/tenant-settings.js";
import { API_KEY_SECURITY, errorResponses } from "./responses.js";

const PATH = "/api/v1/tenant/settings";
const TENANT_ADMIN = { auth: ["api_key"] as const, scope: "tenant_admin" as const };

/** The calling tenant's own settings (an operator changes any tenant's through the admin routes). */
export const tenantSettingsRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    PATH,
    {
      config: TENANT_ADMIN,
      schema: {
        tags: ["tenant"],
        summary: "The tenant's settings (its user verifier)",
        security: API_KEY_SECURITY,
        response: { 200: tenantSettingsSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => getTenantSettings(ctx, tenantPrincipal(request).tenantId),
  );

  app.put(
    PATH,
    {
      config: TENANT_ADMIN,
      schema: {
        tags: ["tenant"],
        summary: "Change the tenant's settings (a setting left out is kept; null clears it)",
        description:
          "verification_url: your user verifier. After a sign-in, the browser goes there with connection_id and a one-time " +
          "code; the connection becomes ACTIVE only once your backend confirms the code for the same user " +
          "(POST /api/v1/composio/connections/{id}/verify). https only (http://localhost outside production); no credentials.",
        security: API_KEY_SECURITY,
        body: updateTenantSettingsBodySchema,
        response: { 200: tenantSettingsSchema, ...errorResponses(400, 401, 403, 415) },
      },
    },
    async (request) => {
      const principal = tenantPrincipal(request);
      return setTenantSettings(ctx, principal.tenantId, request.body, actorOf(principal));
    },
  );
};
