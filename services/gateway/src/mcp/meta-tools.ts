import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { connectAgentToolkit, getAgentExecution, listAgentConnections, searchAgentTools } from "../use-cases/agent-meta-tools.js";
import { executionResult, toMcpTool } from "./results.js";
import type { McpRequestScope } from "./server.js";

// Tools of our own beside the session's actions. Their names are lower case: action slugs are upper case, so the
// two never meet.

interface MetaTool {
  definition: Tool;
  input: z.ZodType<Record<string, unknown>>;
  run(
    scope: McpRequestScope,
    args: Record<string, unknown>,
    wait: { signal: AbortSignal; progress?: ((message: string) => Promise<void>) | undefined },
  ): Promise<CallToolResult>;
}

const json = (value: unknown, structured: Record<string, unknown>): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(value) }],
  structuredContent: structured,
});

const listConnectionsInput = z.object({}).strict();
const connectInput = z.object({ toolkit: z.string().min(1).max(64) }).strict();
const searchInput = z.object({ query: z.string().max(500), limit: z.number().int().min(1).max(50).default(10) }).strict();
const getExecutionInput = z.object({ execution_id: z.uuid(), wait_seconds: z.number().min(0).max(60).default(0) }).strict();

export const META_TOOLS: Array<MetaTool & { name: string }> = [
  {
    name: "kronos_list_connections",
    definition: {
      name: "kronos_list_connections",
      title: "List the user's connected accounts",
      description: "The user's connections (toolkit, status, id): which accounts the tools can act on, and which need a sign-in.",
      inputSchema: { type: "object", properties: {}, additionalProperties: false },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    input: listConnectionsInput,
    async run(scope) {
      const connections = await listAgentConnections(scope.ctx, scope.session);
      const items = connections.map((c) => ({
        connection_id: c.connection_id,
        toolkit: c.toolkit,
        status: c.status,
        labels: c.labels,
        created_at: c.created_at,
      }));
      return json(items, { connections: items });
    },
  },
  {
    name: "kronos_connect_toolkit",
    definition: {
      name: "kronos_connect_toolkit",
      title: "Get a sign-in link for a toolkit",
      description:
        "Starts connecting one of the user's accounts (a toolkit such as github or gmail) and returns the link the user " +
        "opens to sign in. Relay the link to the user; the toolkit's tools work once they have signed in.",
      inputSchema: {
        type: "object",
        properties: { toolkit: { type: "string", description: "A toolkit slug, e.g. github" } },
        required: ["toolkit"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    },
    input: connectInput,
    async run(scope, args) {
      const started = await connectAgentToolkit(scope.ctx, scope.session, String(args.toolkit));
      const link = "redirect_url" in started ? started.redirect_url : null;
      const words = link
        ? `Ask the user to open ${link} to connect ${String(args.toolkit)}.`
        : `The sign-in for ${String(args.toolkit)} is being prepared (connection ${started.connection_id}); call again in a moment.`;
      return { content: [{ type: "text", text: words }], structuredContent: { ...started } };
    },
  },
  {
    name: "kronos_search_tools",
    definition: {
      name: "kronos_search_tools",
      title: "Search the tools by intent",
      description: "Finds the tools this session may run whose name, description or tags match the words of a query.",
      inputSchema: {
        type: "object",
        properties: {
          query: { type: "string", description: "What you want to do, e.g. 'create an issue'" },
          limit: { type: "integer", minimum: 1, maximum: 50, default: 10 },
        },
        required: ["query"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    input: searchInput,
    async run(scope, args) {
      const found = await searchAgentTools(scope.ctx, scope.session, String(args.query), Number(args.limit));
      const tools = found.map(toMcpTool).map(({ name, title, description, annotations }) => ({ name, title, description, annotations }));
      return json(tools, { tools });
    },
  },
  {
    name: "kronos_get_execution",
    definition: {
      name: "kronos_get_execution",
      title: "Get the outcome of an earlier call",
      description:
        "The status and result of a tool call that was waiting for a sign-in or an approval, or still running; " +
        "wait_seconds (up to 60) waits for it to finish.",
      inputSchema: {
        type: "object",
        properties: {
          execution_id: { type: "string", format: "uuid" },
          wait_seconds: { type: "number", minimum: 0, maximum: 60, default: 0 },
        },
        required: ["execution_id"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    input: getExecutionInput,
    async run(scope, args, wait) {
      const view = await getAgentExecution(scope.ctx, scope.session, String(args.execution_id), {
        waitSeconds: Number(args.wait_seconds),
        signal: wait.signal,
        ...(wait.progress ? { progress: wait.progress } : {}),
      });
      return executionResult(view);
    },
  },
];

const BY_NAME = new Map(META_TOOLS.map((tool) => [tool.name, tool]));

export const isMetaTool = (name: string) => BY_NAME.has(name);

/** Runs a meta-tool; arguments that do not fit its schema are a tool error the model can read and correct. */
export async function callMetaTool(
  scope: McpRequestScope,
  name: string,
  args: Record<string, unknown>,
  wait: { signal: AbortSignal; progress?: ((message: string) => Promise<void>) | undefined },
): Promise<CallToolResult> {
  const tool = BY_NAME.get(name)!;
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({ field: issue.path.join(".") || "arguments", message: issue.message }));
    const message = `Invalid arguments for ${name}: ${details.map((d) => `${d.field} ${d.message}`).join("; ")}`;
    return {
      content: [{ type: "text", text: message }],
      structuredContent: { error: { code: "VALIDATION_FAILED", message, details } },
      isError: true,
    };
  }
  return tool.run(scope, parsed.data, wait);
}
