import type { JsonSchemaObject } from "./catalogue.js";

/**
 * The emulator's trigger types: a few per toolkit, each with the JSON schema of the config an instance needs (what
 * Composio's `GET /triggers_types/{slug}` calls `config`) and of the payload it delivers.
 */
export interface CatalogueTriggerType {
  slug: string;
  name: string;
  description: string;
  instructions: string;
  type: "webhook" | "poll";
  toolkitSlug: string;
  config: JsonSchemaObject;
  payload: JsonSchemaObject;
}

export const TRIGGER_TYPE_VERSION = "20261101_00";

const str = (title: string, description: string) => ({ type: "string", title, description });

export const TRIGGER_TYPES: CatalogueTriggerType[] = [
  {
    slug: "GITHUB_COMMIT_EVENT",
    name: "Commit event",
    description: "Fires when a commit is pushed to a repository.",
    instructions: "Give the repository's owner and name; the connected account needs admin rights on it.",
    type: "webhook",
    toolkitSlug: "github",
    config: {
      type: "object",
      title: "CommitEventConfig",
      properties: { owner: str("Owner", "Repository owner"), repo: str("Repo", "Repository name") },
      required: ["owner", "repo"],
    },
    payload: {
      type: "object",
      properties: { sha: str("SHA", "Commit id"), message: str("Message", "Commit message"), author: str("Author", "Author login") },
      required: ["sha"],
    },
  },
  {
    slug: "GITHUB_STAR_ADDED_EVENT",
    name: "Star added",
    description: "Fires when someone stars a repository.",
    instructions: "Give the repository's owner and name.",
    type: "webhook",
    toolkitSlug: "github",
    config: {
      type: "object",
      properties: { owner: str("Owner", "Repository owner"), repo: str("Repo", "Repository name") },
      required: ["owner", "repo"],
    },
    payload: { type: "object", properties: { starred_by: str("Starred by", "Who starred it") }, required: [] },
  },
  {
    slug: "GMAIL_NEW_GMAIL_MESSAGE",
    name: "New Gmail message",
    description: "Polls the mailbox and fires for each new message.",
    instructions: "Optionally restrict to a label; the interval is in minutes.",
    type: "poll",
    toolkitSlug: "gmail",
    config: {
      type: "object",
      properties: {
        labelIds: { ...str("Label", "Only messages with this label"), default: "INBOX" },
        interval: { type: "integer", title: "Interval", description: "Minutes between polls", minimum: 1, default: 1 },
      },
      required: [],
    },
    payload: {
      type: "object",
      properties: { message_id: str("Message id", "The message"), subject: str("Subject", "Its subject") },
      required: ["message_id"],
    },
  },
  {
    slug: "SLACK_RECEIVE_MESSAGE",
    name: "Message received",
    description: "Fires when a message is posted in a channel the bot is in.",
    instructions: "Optionally restrict to one channel.",
    type: "webhook",
    toolkitSlug: "slack",
    config: { type: "object", properties: { channel: str("Channel", "Channel id") }, required: [] },
    payload: { type: "object", properties: { text: str("Text", "The message"), channel: str("Channel", "Where") }, required: [] },
  },
  {
    slug: "LINEAR_ISSUE_CREATED_TRIGGER",
    name: "Issue created",
    description: "Fires when an issue is created in a team.",
    instructions: "Give the team id.",
    type: "webhook",
    toolkitSlug: "linear",
    config: {
      type: "object",
      properties: {
        team_id: str("Team", "Team id"),
        priority: {
          type: "string",
          title: "Priority",
          description: "Only issues of this priority",
          enum: ["urgent", "high", "normal", "low"],
        },
      },
      required: ["team_id"],
    },
    payload: { type: "object", properties: { issue_id: str("Issue", "The new issue") }, required: ["issue_id"] },
  },
];

export function findTriggerType(slug: string): CatalogueTriggerType | undefined {
  const upper = slug.toUpperCase();
  return TRIGGER_TYPES.find((t) => t.slug === upper);
}
