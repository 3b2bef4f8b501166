// The browser-safe contracts (zod schemas, constants, types), also the `./contracts` entry the console imports.
export * from "./contracts.js";

export * from "./auth.js";
export * from "./composio/client-adapter.js";
export * from "./composio/port.js";
export * from "./composio/rate-budget.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./events/bus.js";
export * from "./http/admin.js";
export * from "./http/health.js";
export * from "./http/policies.js";
export * from "./http/route-hooks.js";
export * from "./http/tools.js";
export * from "./job-secrets.js";
export * from "./llm-tools.js";
export * from "./logger.js";
export * from "./metrics.js";
export * from "./policy.js";
export * from "./queues.js";
export * from "./redis.js";
export * from "./webhooks/signature.js";
export * from "./webhooks/trigger-message.js";
