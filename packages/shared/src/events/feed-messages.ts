import type { ConnectionStatus } from "../domain.js";

// The feed's control messages (services/webhooks/README.md): defined here so the webhooks service that sends them
// and the console that reads them share one description.

/** One connection as the `snapshot` message shows it (the names of `connection.status` events). */
export interface SnapshotConnection {
  connection_id: string;
  user_id: string;
  toolkit: string;
  status: ConnectionStatus;
  status_reason: string | null;
  labels: string[];
  updated_at: string;
}

/** Sent once on every connect: the current status of every connection the client may see. */
export interface SnapshotMessage {
  type: "snapshot";
  ts: string;
  connections: SnapshotConnection[];
  /** True when the client may see more connections than the snapshot holds (the most recently updated first). */
  truncated: boolean;
}

/**
 * Sent first when a client resumes with `since` and events after it may have been dropped by retention: only the
 * events from `oldest_id` on can be replayed. The snapshot that follows gives the current statuses.
 */
export interface ResumeGapMessage {
  type: "resume.gap";
  since: string;
  oldest_id: string;
}

export type ControlMessage = SnapshotMessage | ResumeGapMessage;

/** A stream id, as `since` must be: "<ms>-<seq>". */
export const EVENT_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;

/**
 * Close codes of the WebSocket feed. 1xxx are the standard ones we use; 4xxx are ours. A socket that misses a
 * heartbeat is terminated without a close frame, so its client sees 1006.
 */
export const FEED_CLOSE_CODES = {
  /** The server is shutting down (or restarting): reconnect, with `since`, to another instance. */
  goingAway: 1001,
  /** The client sent a message larger than the inbound limit (set by ws through `maxPayload`). */
  messageTooBig: 1009,
  /** Something failed on our side while the feed was being set up (snapshot or replay). Reconnect with `since`. */
  internalError: 1011,
  /** The user token the socket was opened with has expired: get a new token and reconnect with `since`. */
  tokenExpired: 4001,
  /** The API key the socket was opened with was revoked: the client must use another credential. */
  credentialRevoked: 4003,
  /** The client reads too slowly: too much is waiting to be sent. Reconnect with `since` to catch up. */
  slowConsumer: 4008,
} as const;
