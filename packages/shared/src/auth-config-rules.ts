import type { ErrorCode } from "./errors.js";

/** What the rule needs to know of an auth config (a row of `auth_configs`). */
export interface AuthConfigFacts {
  id: string;
  toolkitSlug: string;
  enabled: boolean;
}

export interface AuthConfigRefusal {
  code: Extract<ErrorCode, "NOT_FOUND" | "VALIDATION_FAILED" | "CONFLICT">;
  message: string;
}

/**
 * Whether a connection to `toolkit` may be started with this auth config, found among the caller's tenant's own
 * (null or undefined: the tenant has none with that id). The one rule, with one answer per failure, that the gateway
 * applies before accepting an initiation (single or bulk) and the worker applies again when the job runs (the config
 * may have changed in between): NOT_FOUND for another tenant's or an unknown id, VALIDATION_FAILED for a config of
 * another toolkit, CONFLICT for a disabled one. Null when it may be used.
 */
export function authConfigRefusal(config: AuthConfigFacts | null | undefined, id: string, toolkit: string): AuthConfigRefusal | null {
  if (!config) return { code: "NOT_FOUND", message: `Auth config "${id}" not found` };
  if (config.toolkitSlug.toLowerCase() !== toolkit.toLowerCase())
    return { code: "VALIDATION_FAILED", message: `Auth config "${id}" is for toolkit "${config.toolkitSlug}", not "${toolkit}"` };
  if (!config.enabled) return { code: "CONFLICT", message: `Auth config "${id}" is disabled` };
  return null;
}
