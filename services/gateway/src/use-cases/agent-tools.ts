import {
  type ActionView,
  AppError,
  DEFAULT_TOOL_POLICY,
  type ExecutionAccepted,
  type ExecutionView,
  isFinalExecutionStatus,
  isParkedExecutionStatus,
  llmToolName,
  type Principal,
  ToolPolicyMatcher,
  toParametersSchema,
} from "@kronos/shared";
import type { AgentSessionPrincipal, GatewayContext } from "../context.js";
import { agentPrincipal } from "../lib/principal.js";
import { executeTool } from "./execute-tool.js";
import { allowedActions, connectedToolkits } from "./list-llm-tools.js";
import { getAction } from "./read-catalogue.js";
import { getExecution } from "./read-executions.js";

/** A tool of an agent session, as any protocol lists it. */
export interface AgentTool {
  /** The name the agent calls: the action slug, or for a slug over 64 characters its short form (llmToolName). */
  name: string;
  action: string;
  toolkit: string;
  title: string;
  description: string;
  /** JSON Schema of the arguments, from Composio's input parameters. */
  inputSchema: Record<string, unknown>;
  tags: string[];
  requiresApproval: boolean;
}

/**
 * A session's own limits, as a test on action slugs: within its toolkits (if it names any) and matching one of its
 * tool patterns (if it names any). The tool policy applies on top, so a session only ever narrows.
 */
export function sessionKeeps(session: Pick<AgentSessionPrincipal, "toolkits" | "tools">): (slug: string) => boolean {
  const byToolkit = session.toolkits ? new ToolPolicyMatcher({ ...DEFAULT_TOOL_POLICY, allow: session.toolkits }) : null;
  const byTool = session.tools ? new ToolPolicyMatcher({ ...DEFAULT_TOOL_POLICY, allow: session.tools }) : null;
  return (slug) => (byToolkit?.decide(slug).allowed ?? true) && (byTool?.decide(slug).allowed ?? true);
}

/** The toolkits a session lists: those it names, else those its user has connected (as they are now). */
export async function sessionToolkits(ctx: GatewayContext, session: AgentSessionPrincipal): Promise<string[]> {
  return session.toolkits ?? [...(await connectedToolkits(ctx, session.tenantId, session.userId))].sort();
}

function toAgentTool(action: ActionView, toolkit: string, approval: string[]): AgentTool {
  return {
    name: llmToolName(action.slug),
    action: action.slug,
    toolkit,
    title: action.name,
    description: (action.description || action.name).slice(0, 4096),
    inputSchema: toParametersSchema(action.input_parameters),
    tags: action.tags,
    requiresApproval: approval.length > 0,
  };
}

/** Exactly what a session may run: its toolkits' actions that both its limits and the user's tool policy allow. */
export async function listAgentTools(ctx: GatewayContext, session: AgentSessionPrincipal): Promise<AgentTool[]> {
  const matcher = await ctx.policies.matcher(session.tenantId, session.userId);
  const allowed = await allowedActions(ctx, matcher, await sessionToolkits(ctx, session), sessionKeeps(session));
  return allowed.map(({ action, toolkit, approval }) => toAgentTool(action, toolkit, approval));
}

const LONG_NAME = /^[A-Z0-9_]{53}_[0-9a-f]{10}$/;

/**
 * The action a tool name stands for in this session, or NOT_FOUND (naming the session's limits) when the session may
 * not run it: unknown, outside its toolkits or tool patterns, or (for a session without toolkits) of a toolkit the user
 * has not connected. The tool policy is checked when the call is accepted, as for every execution.
 */
export async function resolveAgentTool(ctx: GatewayContext, session: AgentSessionPrincipal, name: string): Promise<ActionView> {
  const outside = () =>
    new AppError("NOT_FOUND", `Tool "${name.slice(0, 200)}" is not available in this agent session (see tools/list)`, {
      toolkits: session.toolkits,
      tools: session.tools,
    });
  let slug = name;
  if (LONG_NAME.test(name)) {
    // A long slug's short name: only the session's own list maps it back.
    const listed = (await listAgentTools(ctx, session)).find((tool) => tool.name === name);
    if (!listed) throw outside();
    slug = listed.action;
  }
  if (!/^[A-Z0-9_]{1,200}$/.test(slug) || !sessionKeeps(session)(slug)) throw outside();
  let action: ActionView;
  try {
    action = await getAction(ctx, slug);
  } catch (error) {
    if (error instanceof AppError && error.code === "NOT_FOUND") throw outside();
    throw error;
  }
  if (session.toolkits === null) {
    const connected = await connectedToolkits(ctx, session.tenantId, session.userId, [action.toolkit]);
    if (!connected.has(action.toolkit)) throw outside();
  }
  return action;
}

/** What a run came to, for the protocol to word. */
export type AgentRunOutcome =
  | { kind: "finished"; view: ExecutionView }
  /** Still queued or running when the wait ended. */
  | { kind: "running"; executionId: string }
  /** Waiting for a person: the link to give them. `view` is set when the call waited and it is still parked. */
  | { kind: "parked"; accepted: ExecutionAccepted; link: string | null };

/** What the protocol offers while a call waits for a person (all optional: a plain client gets an answer at once). */
export interface ParkedInteraction {
  /** Shows the user a link (sign-in, approval) and says whether the client took it; then the call waits. */
  openUrl?: ((url: string, message: string, executionId: string) => Promise<boolean>) | undefined;
  /** A line of progress while waiting. */
  progress?: ((message: string) => Promise<void>) | undefined;
  /** Ends the wait (the client went away, the session was revoked): the execution itself is left as it is. */
  signal: AbortSignal;
  /** How long a parked call may wait, in ms. */
  parkedWaitMs: number;
}

/** Where the person who approves does it: the console's approvals page. */
export const approvalsUrl = (ctx: GatewayContext) => new URL("/console/#/approvals", ctx.config.PUBLIC_GATEWAY_URL).toString();

/**
 * Runs an action for a session's user through the same pipeline as `POST tools/execute?wait=` (policy, approvals,
 * sign-in on demand, idempotency, the durable accept, audit), waiting up to EXECUTE_MAX_WAIT_SECONDS for its outcome.
 * A parked execution is waited on (bounded) only when the client could be shown the link.
 */
export async function runAgentTool(
  ctx: GatewayContext,
  session: AgentSessionPrincipal,
  action: ActionView,
  args: Record<string, unknown>,
  options: { idempotencyKey: string; interaction: ParkedInteraction },
): Promise<AgentRunOutcome> {
  const principal = agentPrincipal(session);
  const remaining = (session.expiresAt - Date.now()) / 1000;
  const waitSeconds = Math.max(0.001, Math.min(ctx.config.EXECUTE_MAX_WAIT_SECONDS, remaining));
  const outcome = await executeTool(
    ctx,
    principal,
    { user_id: session.userId, action_name: action.slug, params: args },
    // Parked: the link is shown to the user first (below), then the wait goes on.
    { waitSeconds, idempotencyKey: options.idempotencyKey, parkedEndsWait: true },
  );
  if (outcome.kind === "done") return { kind: "finished", view: outcome.body };
  const accepted = outcome.body;
  if (accepted.status === "QUEUED") return { kind: "running", executionId: accepted.execution_id };
  const link = accepted.status === "AWAITING_AUTH" ? (accepted.authorization?.redirect_url ?? null) : approvalsUrl(ctx);
  const { interaction } = options;
  if (!link || !interaction.openUrl) return { kind: "parked", accepted, link };
  const message =
    accepted.status === "AWAITING_AUTH"
      ? `Sign in to ${action.toolkit} so that the agent can run ${action.name}.`
      : `${action.name} needs an approval before it runs: approve or deny it in the console.`;
  if (!(await interaction.openUrl(link, message, accepted.execution_id))) return { kind: "parked", accepted, link };
  const deadline = Math.min(Date.now() + interaction.parkedWaitMs, session.expiresAt);
  const view = await waitForExecution(ctx, principal, accepted.execution_id, { ...interaction, deadline });
  if (isFinalExecutionStatus(view.status)) return { kind: "finished", view };
  if (isParkedExecutionStatus(view.status)) {
    const still = view.status === "AWAITING_AUTH" ? (view.authorization?.redirect_url ?? link) : link;
    return { kind: "parked", accepted: { ...accepted, status: view.status }, link: still };
  }
  return { kind: "running", executionId: view.execution_id };
}

/** A waiting call reads its execution at least this often: its progress line, and a wake-up missed while Redis reconnected. */
const READ_EVERY_MS = 5_000;

/**
 * Waits until the execution is final, the deadline passes or the signal ends the wait, woken by the execution's own
 * channel (the worker's outcome, every change of status: see ExecutionWaits), not by polling; says each change of
 * status through `progress`, and repeats the current one every few seconds so that a client sees the call is alive.
 */
export async function waitForExecution(
  ctx: GatewayContext,
  principal: Principal,
  executionId: string,
  options: {
    deadline: number;
    signal: AbortSignal;
    progress?: ((message: string) => Promise<void>) | undefined;
  },
): Promise<ExecutionView> {
  const watch = ctx.executionWaits.watch(executionId);
  try {
    // Subscribed before the first read, so that an end between the two is not missed. Without Redis, the reads alone.
    await watch.ready.catch(() => undefined);
    let view = await getExecution(ctx, principal, executionId);
    let said = "";
    let saidAt = 0;
    while (!isFinalExecutionStatus(view.status) && Date.now() < options.deadline && !options.signal.aborted) {
      const line = progressLine(view);
      if (options.progress && (line !== said || Date.now() - saidAt >= READ_EVERY_MS)) {
        await options.progress(line).catch(() => {});
        said = line;
        saidAt = Date.now();
      }
      const wake = await untilAborted(watch.next(Math.min(READ_EVERY_MS, Math.max(0, options.deadline - Date.now()))), options.signal);
      if (options.signal.aborted) break;
      // The worker's message carries the final execution as the API shows it; any other wake-up reads the row.
      view = wake?.view ? (JSON.parse(wake.view) as ExecutionView) : await getExecution(ctx, principal, executionId);
    }
    return view;
  } finally {
    watch.close();
  }
}

function progressLine(view: ExecutionView): string {
  switch (view.status) {
    case "AWAITING_AUTH":
      return `Waiting for ${view.user_id} to sign in (execution ${view.execution_id})`;
    case "AWAITING_APPROVAL":
      return `Waiting for an approval of ${view.action_name} (execution ${view.execution_id})`;
    case "RUNNING":
      return `Running ${view.action_name}`;
    default:
      return `${view.action_name} is ${view.status}`;
  }
}

/** `promise`, or undefined as soon as the signal ends the wait. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const aborted = () => resolve(undefined);
    signal.addEventListener("abort", aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", aborted);
        resolve(value);
      },
      () => {
        signal.removeEventListener("abort", aborted);
        resolve(undefined);
      },
    );
  });
}
