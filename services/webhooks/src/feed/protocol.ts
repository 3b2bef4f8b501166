// The feed's messages and close codes are contracts shared with the console (packages/shared/src/events/feed-messages.ts).
export {
  type ControlMessage,
  EVENT_ID_PATTERN,
  FEED_CLOSE_CODES as CLOSE_CODES,
  type ResumeGapMessage,
  type SnapshotConnection,
  type SnapshotMessage,
} from "@kronos/shared";
