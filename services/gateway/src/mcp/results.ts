import { type ExecutionView, isParkedExecutionStatus } from "@kronos/shared";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { AgentTool } from "../use-cases/agent-tools.js";

/** A tool as MCP lists it: Composio's tags become the read-only and destructive hints. */
export function toMcpTool(tool: AgentTool): Tool {
  const tags = new Set(tool.tags);
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema as Tool["inputSchema"],
    annotations: {
      title: tool.title,
      ...(tags.has("readOnlyHint") ? { readOnlyHint: true } : {}),
      ...(tags.has("destructiveHint") ? { destructiveHint: true } : {}),
      ...(tags.has("idempotentHint") ? { idempotentHint: true } : {}),
      ...(tags.has("openWorldHint") ? { openWorldHint: true } : {}),
    },
    _meta: { "kronos/action": tool.action, "kronos/toolkit": tool.toolkit, "kronos/requires_approval": tool.requiresApproval },
  };
}

export const text = (value: string): CallToolResult["content"] => [{ type: "text", text: value }];

/** What an execution came to, for the agent: the tool's data, or an error it can relay. */
export function executionResult(view: ExecutionView): CallToolResult {
  const structured = { execution_id: view.execution_id, status: view.status, data: view.data ?? null, error: view.error };
  if (view.status === "SUCCEEDED") return { content: text(JSON.stringify(view.data ?? null)), structuredContent: structured };
  if (isParkedExecutionStatus(view.status) || view.status === "QUEUED" || view.status === "RUNNING") {
    return {
      content: text(
        `${view.action_name} is ${view.status} (execution ${view.execution_id}). Ask again with kronos_get_execution ` +
          `{ "execution_id": "${view.execution_id}", "wait_seconds": 30 }.`,
      ),
      structuredContent: structured,
    };
  }
  const reason = view.error ? `${view.error.code}: ${view.error.message}` : view.status;
  return {
    content: text(`${view.action_name} ended ${view.status} (${reason}); execution ${view.execution_id}.`),
    structuredContent: structured,
    isError: true,
  };
}
