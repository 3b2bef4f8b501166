// The browser-safe contracts: zod schemas, constants and types with no Node API, for the console
// (`@kronos/shared/contracts`). Everything here is also exported by the package's main entry.
export * from "./audit.js";
export * from "./credentials.js";
export * from "./domain.js";
export { ERROR_STATUS, type ErrorBody, type ErrorCode } from "./errors.js";
export * from "./events/feed-messages.js";
export * from "./events/schemas.js";
export * from "./http/agent-sessions.js";
export * from "./http/api-keys.js";
export * from "./http/audit-logs.js";
export * from "./http/auth-configs.js";
export * from "./http/catalogue.js";
export * from "./http/common.js";
export * from "./http/connection-ops.js";
export * from "./http/connections.js";
export * from "./http/console.js";
export * from "./http/executions.js";
export * from "./http/policies.js";
export * from "./http/sessions.js";
export * from "./http/tenant-settings.js";
export * from "./http/triggers.js";
export * from "./http/webhook-endpoints.js";
export * from "./scopes.js";
