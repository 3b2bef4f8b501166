export { buildWebhooksApp, type FeedOptions, feedOptionsFromConfig, MAX_PENDING_EVENTS, type WebhooksDeps } from "./app.js";
export { COMPOSIO_WEBHOOK_PATH, WEBHOOK_BODY_LIMIT } from "./composio-webhook.js";
export type { HubStats } from "./feed/hub.js";
export { CLOSE_CODES, type ControlMessage, type ResumeGapMessage, type SnapshotConnection, type SnapshotMessage } from "./feed/protocol.js";
