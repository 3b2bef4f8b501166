/** The emulator's catalogue: a few toolkits and tools with deterministic fake behaviour. */

export interface CatalogueToolkit {
  slug: string;
  name: string;
  description: string;
  categories: Array<{ id: string; name: string }>;
  authSchemes: string[];
  composioManagedAuthSchemes: string[];
  appUrl: string;
}

export interface ToolOutcome {
  successful: boolean;
  data: Record<string, unknown>;
  error: string | null;
}

export interface CatalogueTool {
  slug: string;
  name: string;
  description: string;
  toolkitSlug: string;
  inputParameters: JsonSchemaObject;
  tags: string[];
  scopes: string[];
  run(args: Record<string, unknown>, ctx: { userId: string | null; connectedAccountId: string | null }): ToolOutcome;
}

/** A property of a tool's input schema: Composio's schemas also have enums, arrays and nested objects. */
export interface JsonSchemaProperty {
  type: string;
  description: string;
  title?: string;
  default?: unknown;
  minimum?: number;
  enum?: string[];
  format?: string;
  items?: { type: string };
  properties?: Record<string, JsonSchemaProperty>;
  required?: string[];
}

export interface JsonSchemaObject {
  type: "object";
  properties: Record<string, JsonSchemaProperty>;
  required: string[];
  title?: string;
}

export const LATEST_TOOL_VERSION = "20261101_00";
/** The version a tool defaults to on /api/v3 (COMPOSIO.md). */
export const V3_DEFAULT_TOOL_VERSION = "00000000_00";
export const TOOL_VERSIONS = [V3_DEFAULT_TOOL_VERSION, LATEST_TOOL_VERSION];
export const TOOLKIT_VERSION = "20261101_00";

const CAT = {
  dev: { id: "developer-tools", name: "Developer Tools" },
  email: { id: "email", name: "Email" },
  comms: { id: "communication", name: "Communication" },
  productivity: { id: "productivity", name: "Productivity" },
  pm: { id: "project-management", name: "Project Management" },
};

export const TOOLKITS: CatalogueToolkit[] = [
  {
    slug: "github",
    name: "GitHub",
    description: "Code hosting: repositories, issues and pull requests.",
    categories: [CAT.dev],
    authSchemes: ["OAUTH2"],
    composioManagedAuthSchemes: ["OAUTH2"],
    appUrl: "https://github.com",
  },
  {
    slug: "gmail",
    name: "Gmail",
    description: "Google's email service: send, read and search messages.",
    categories: [CAT.email, CAT.comms],
    authSchemes: ["OAUTH2"],
    composioManagedAuthSchemes: ["OAUTH2"],
    appUrl: "https://mail.google.com",
  },
  {
    slug: "slack",
    name: "Slack",
    description: "Team messaging: channels, messages and users.",
    categories: [CAT.comms],
    authSchemes: ["OAUTH2", "BEARER_TOKEN"],
    composioManagedAuthSchemes: ["OAUTH2"],
    appUrl: "https://slack.com",
  },
  {
    slug: "notion",
    name: "Notion",
    description: "Workspace for notes, docs and databases.",
    categories: [CAT.productivity],
    authSchemes: ["OAUTH2", "API_KEY"],
    composioManagedAuthSchemes: ["OAUTH2"],
    appUrl: "https://notion.so",
  },
  {
    slug: "linear",
    name: "Linear",
    description: "Issue tracking for software teams.",
    categories: [CAT.pm, CAT.productivity],
    authSchemes: ["OAUTH2", "API_KEY"],
    composioManagedAuthSchemes: ["OAUTH2"],
    appUrl: "https://linear.app",
  },
];

function schema(properties: JsonSchemaObject["properties"], required: string[] = []): JsonSchemaObject {
  return { type: "object", properties, required };
}

const str = (description: string) => ({ type: "string", description });
const int = (description: string) => ({ type: "integer", description });

/** Every toolkit has one tool that always fails at the "provider" (HTTP 200, successful: false). */
function failing(message: string) {
  return (): ToolOutcome => ({ successful: false, data: {}, error: message });
}

function echo(kind: string) {
  return (args: Record<string, unknown>, ctx: { userId: string | null }): ToolOutcome => ({
    successful: true,
    data: { [kind]: { id: `${kind}_${stableId(JSON.stringify(args))}`, ...args }, user_id: ctx.userId },
    error: null,
  });
}

function stableId(text: string): string {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

export const TOOLS: CatalogueTool[] = [
  {
    slug: "GITHUB_GET_THE_AUTHENTICATED_USER",
    name: "Get the authenticated user",
    description: "Returns the profile of the user who owns the connection.",
    toolkitSlug: "github",
    inputParameters: schema({}),
    tags: ["users", "important", "readOnlyHint"],
    scopes: ["read:user"],
    run: (_args, ctx) => ({
      successful: true,
      data: { login: `user-${stableId(ctx.connectedAccountId ?? "none")}`, connected_account_id: ctx.connectedAccountId },
      error: null,
    }),
  },
  {
    slug: "GITHUB_CREATE_AN_ISSUE",
    name: "Create an issue",
    description: "Creates an issue in a repository.",
    toolkitSlug: "github",
    inputParameters: schema(
      { owner: str("Repository owner"), repo: str("Repository name"), title: str("Issue title"), body: str("Issue body") },
      ["owner", "repo", "title"],
    ),
    tags: ["issues", "important"],
    scopes: ["repo"],
    run: echo("issue"),
  },
  {
    slug: "GITHUB_DELETE_A_REPOSITORY",
    name: "Delete a repository",
    description: "Deletes a repository. In the emulator the provider always refuses.",
    toolkitSlug: "github",
    inputParameters: schema({ owner: str("Repository owner"), repo: str("Repository name") }, ["owner", "repo"]),
    tags: ["repos", "destructiveHint"],
    scopes: ["delete_repo"],
    run: failing("403 Forbidden: Must have admin rights to Repository."),
  },
  {
    slug: "GMAIL_SEND_EMAIL",
    name: "Send email",
    description: "Sends an email from the connected account.",
    toolkitSlug: "gmail",
    inputParameters: schema({ recipient_email: str("Recipient address"), subject: str("Subject"), body: str("Body") }, [
      "recipient_email",
      "body",
    ]),
    tags: ["important"],
    scopes: ["https://www.googleapis.com/auth/gmail.send"],
    run: echo("message"),
  },
  {
    slug: "GMAIL_FETCH_EMAILS",
    name: "Fetch emails",
    description: "Lists recent messages.",
    toolkitSlug: "gmail",
    inputParameters: schema({ query: str("Gmail search query"), max_results: int("How many messages") }),
    tags: ["readOnlyHint"],
    scopes: ["https://www.googleapis.com/auth/gmail.readonly"],
    run: (args) => ({ successful: true, data: { messages: [], query: args.query ?? null, result_size_estimate: 0 }, error: null }),
  },
  {
    slug: "GMAIL_DELETE_MESSAGE",
    name: "Delete message",
    description: "Deletes a message. In the emulator the provider always refuses.",
    toolkitSlug: "gmail",
    inputParameters: schema({ message_id: str("Message id") }, ["message_id"]),
    tags: ["destructiveHint"],
    scopes: ["https://mail.google.com/"],
    run: failing("Requested entity was not found."),
  },
  {
    slug: "SLACK_SEND_MESSAGE",
    name: "Send message",
    description: "Posts a message to a channel.",
    toolkitSlug: "slack",
    inputParameters: schema({ channel: str("Channel id or name"), text: str("Message text") }, ["channel", "text"]),
    tags: ["important"],
    scopes: ["chat:write"],
    run: echo("message"),
  },
  {
    slug: "SLACK_LIST_ALL_CHANNELS",
    name: "List all channels",
    description: "Lists the channels of the workspace.",
    toolkitSlug: "slack",
    inputParameters: schema({ limit: int("Page size") }),
    tags: ["readOnlyHint"],
    scopes: ["channels:read"],
    run: () => ({ successful: true, data: { channels: [{ id: "C0001", name: "general" }] }, error: null }),
  },
  {
    slug: "SLACK_ARCHIVE_A_CONVERSATION",
    name: "Archive a conversation",
    description: "Archives a channel. In the emulator the provider always refuses.",
    toolkitSlug: "slack",
    inputParameters: schema({ channel: str("Channel id") }, ["channel"]),
    tags: ["destructiveHint"],
    scopes: ["channels:manage"],
    run: failing("not_authed"),
  },
  {
    slug: "NOTION_CREATE_NOTION_PAGE",
    name: "Create page",
    description: "Creates a page under a parent page.",
    toolkitSlug: "notion",
    inputParameters: schema(
      {
        parent_id: str("Parent page id"),
        title: str("Page title"),
        integration_token: { type: "string", description: "A Notion integration token to use instead", format: "password" },
      },
      ["parent_id", "title"],
    ),
    tags: ["important"],
    scopes: [],
    run: echo("page"),
  },
  {
    slug: "NOTION_SEARCH_NOTION_PAGE",
    name: "Search pages",
    description: "Searches pages by title.",
    toolkitSlug: "notion",
    inputParameters: schema({ query: str("Search text") }),
    tags: ["readOnlyHint"],
    scopes: [],
    run: (args) => ({ successful: true, data: { results: [], query: args.query ?? "" }, error: null }),
  },
  {
    slug: "NOTION_ARCHIVE_NOTION_PAGE",
    name: "Archive page",
    description: "Archives a page. In the emulator the provider always refuses.",
    toolkitSlug: "notion",
    inputParameters: schema({ page_id: str("Page id") }, ["page_id"]),
    tags: ["destructiveHint"],
    scopes: [],
    run: failing("Could not find page with ID. Make sure the relevant pages and databases are shared with your integration."),
  },
  {
    slug: "LINEAR_CREATE_LINEAR_ISSUE",
    name: "Create issue",
    description: "Creates an issue in a team.",
    toolkitSlug: "linear",
    inputParameters: schema(
      {
        team_id: str("Team id"),
        title: str("Issue title"),
        description: str("Issue description"),
        priority: { type: "string", description: "Priority", enum: ["urgent", "high", "medium", "low"] },
        label_names: { type: "array", description: "Labels to add", items: { type: "string" } },
        estimate: {
          type: "object",
          description: "Estimate",
          properties: { points: int("Story points"), confidence: { type: "string", description: "Confidence", enum: ["low", "high"] } },
          required: ["points"],
        },
      },
      ["team_id", "title"],
    ),
    tags: ["important"],
    scopes: ["issues:create"],
    run: echo("issue"),
  },
  {
    slug: "LINEAR_LIST_LINEAR_TEAMS",
    name: "List teams",
    description: "Lists the teams of the workspace.",
    toolkitSlug: "linear",
    inputParameters: schema({}),
    tags: ["readOnlyHint"],
    scopes: ["read"],
    run: () => ({ successful: true, data: { teams: [{ id: "team_1", name: "Engineering" }] }, error: null }),
  },
  {
    slug: "LINEAR_DELETE_LINEAR_ISSUE",
    name: "Delete issue",
    description: "Deletes an issue. In the emulator the provider always refuses.",
    toolkitSlug: "linear",
    inputParameters: schema({ issue_id: str("Issue id") }, ["issue_id"]),
    tags: ["destructiveHint"],
    scopes: ["admin"],
    run: failing("Entity not found: Issue"),
  },
];

export function findToolkit(slug: string): CatalogueToolkit | undefined {
  const lower = slug.toLowerCase();
  return TOOLKITS.find((t) => t.slug === lower);
}

export function findTool(slug: string): CatalogueTool | undefined {
  const upper = slug.toUpperCase();
  return TOOLS.find((t) => t.slug === upper);
}

export function toolkitLogo(slug: string): string {
  return `https://logos.composio.dev/api/${slug}`;
}

/** Checks the arguments against the tool's input schema (required keys and primitive types). */
export function argumentProblems(tool: CatalogueTool, args: Record<string, unknown>): string[] {
  return schemaProblems(tool.inputParameters, args);
}

/** Problems of an object against a flat JSON schema: required keys, primitive types, enums and minimums. */
export function schemaProblems(schema: JsonSchemaObject, values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const key of schema.required) {
    if (values[key] === undefined || values[key] === null) problems.push(`Missing required field: ${key}`);
  }
  for (const [key, value] of Object.entries(values)) {
    const prop = schema.properties[key];
    if (!prop || value === undefined || value === null) continue;
    const ok =
      prop.type === "string"
        ? typeof value === "string"
        : prop.type === "integer"
          ? Number.isInteger(value)
          : prop.type === "number"
            ? typeof value === "number"
            : prop.type === "boolean"
              ? typeof value === "boolean"
              : prop.type === "array"
                ? Array.isArray(value)
                : prop.type === "object"
                  ? typeof value === "object" && !Array.isArray(value)
                  : true;
    if (!ok) problems.push(`Field ${key} must be of type ${prop.type}`);
    else if (prop.enum && !(prop.enum as unknown[]).includes(value)) problems.push(`Field ${key} must be one of ${prop.enum.join(", ")}`);
    else if (prop.minimum !== undefined && typeof value === "number" && value < prop.minimum)
      problems.push(`Field ${key} must be at least ${prop.minimum}`);
  }
  return problems;
}
