import { z } from "zod";

/** A lone UTF-16 surrogate: JSON may carry one (\ud800), but it is no character. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isControlOrSpace = (char: string) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f;

/** The form is checked here; the rule that depends on the deployment (https) by `verificationUrlRefusal`. */
const verificationUrlSchema = z
  .string()
  .trim()
  .min(1)
  .max(2_048)
  .refine((url) => !LONE_SURROGATE.test(url) && ![...url].some(isControlOrSpace), "must be a URL without spaces or control characters");

/** A tenant's settings, as changed: a setting given replaces the current one, null clears it, one left out is kept. */
export const updateTenantSettingsBodySchema = z
  .object({
    verification_url: verificationUrlSchema
      .nullable()
      .optional()
      .describe("Your user verifier (https; http://localhost in development): null turns it off"),
  })
  .strict();
export type UpdateTenantSettingsBody = z.infer<typeof updateTenantSettingsBodySchema>;

export const tenantSettingsSchema = z
  .object({
    tenant_id: z.uuid(),
    verification_url: z
      .string()
      .nullable()
      .describe(
        "After a sign-in, the browser goes here with connection_id and a one-time code; the connection becomes ACTIVE " +
          "once your backend confirms the code for the same user (POST /api/v1/composio/connections/{id}/verify)",
      ),
  })
  .meta({ id: "TenantSettings" });
export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Why a verification URL is refused, or null. The browser is sent there (we never call it ourselves, so where it
 * resolves does not matter), carrying a code that confirms a sign-in: https, except a loopback host outside
 * production; no credentials in it; no fragment (the code is added to the query).
 */
export function verificationUrlRefusal(text: string, options: { production: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute https URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an https URL";
  if (url.protocol === "http:" && (options.production || !LOOPBACK_HOSTS.has(url.hostname)))
    return options.production ? "must be https" : "must be https (plain http only for localhost, in development)";
  if (url.username || url.password) return "must not carry credentials";
  if (!url.hostname) return "has no host";
  if (url.hash) return "must not have a fragment";
  return null;
}
