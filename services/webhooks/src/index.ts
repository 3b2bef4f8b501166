export { buildWebhooksApp, DEFAULT_FEED_OPTIONS, type FeedOptions, type WebhooksDeps } from "./app.js";
export type { HubStats } from "./feed/hub.js";
export { CLOSE_CODES, type ControlMessage, type ResumeGapMessage, type SnapshotConnection, type SnapshotMessage } from "./feed/protocol.js";
