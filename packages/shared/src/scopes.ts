/**
 * What an API key may do. Every route that accepts API keys declares the one scope it needs beside its path
 * (`config.scope`); the gateway refuses to start with a route that declares none, and the OpenAPI document shows it.
 * User tokens are not scoped: they act for their own user only.
 */
export const SCOPES = [
  "connections",
  "executions",
  "auth_configs",
  "catalogue",
  "sessions",
  "agent_sessions",
  "policies",
  "webhooks",
  "triggers",
  "audit_logs",
  "tenant_admin",
] as const;

export type Scope = (typeof SCOPES)[number];

/** Every scope, including those added after the key was made: what keys made before scopes existed hold. */
export const FULL_ACCESS = "*";

export type KeyScope = Scope | typeof FULL_ACCESS;

export const KEY_SCOPES = [FULL_ACCESS, ...SCOPES] as const;

export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes(FULL_ACCESS) || granted.includes(needed);
}
