import type { EffectiveToolPolicy, ToolPolicyDocument } from "./http/policies.js";

/** What applies when a tenant has stored no policy: everything runs, nothing asks, sign-in on demand is on. */
export const DEFAULT_TOOL_POLICY: EffectiveToolPolicy = {
  allow: null,
  deny: [],
  require_approval: { tools: [], tags: [] },
  api_key_may_approve: false,
  sign_in_on_demand: true,
};

/** The tenant's policy with a user's override on top: each field the override sets replaces the tenant's. */
export function resolveToolPolicy(tenant: ToolPolicyDocument | null, user: ToolPolicyDocument | null): EffectiveToolPolicy {
  const pick = <K extends keyof ToolPolicyDocument>(key: K) => (user?.[key] !== undefined ? user[key] : tenant?.[key]);
  const approval = (key: "tools" | "tags") =>
    (user?.require_approval?.[key] ?? tenant?.require_approval?.[key] ?? DEFAULT_TOOL_POLICY.require_approval[key]).slice();
  const allow = pick("allow");
  return {
    allow: allow === undefined || allow === null ? null : [...allow],
    deny: [...(pick("deny") ?? [])],
    require_approval: { tools: approval("tools"), tags: approval("tags") },
    api_key_may_approve: pick("api_key_may_approve") ?? DEFAULT_TOOL_POLICY.api_key_may_approve,
    sign_in_on_demand: pick("sign_in_on_demand") ?? DEFAULT_TOOL_POLICY.sign_in_on_demand,
  };
}

/** What a policy says about one tool. `approval` lists the rules that ask for one (empty: none needed). */
export type ToolDecision = { allowed: false; rule: string } | { allowed: true; approval: string[] };

/**
 * A policy compiled for matching. A toolkit pattern ("github") matches the actions whose slug starts with
 * "GITHUB_"; an action pattern matches the whole slug, "*" standing for any run of characters.
 */
export class ToolPolicyMatcher {
  private readonly allow: Rule[] | null;
  private readonly deny: Rule[];
  private readonly approvalTools: Rule[];
  private readonly approvalTags: Set<string>;

  constructor(readonly policy: EffectiveToolPolicy) {
    this.allow = policy.allow === null ? null : policy.allow.map(compile);
    this.deny = policy.deny.map(compile);
    this.approvalTools = policy.require_approval.tools.map(compile);
    this.approvalTags = new Set(policy.require_approval.tags);
  }

  /** Whether deciding needs the tool's Composio tags (a catalogue read): only when approval is asked by tag. */
  get needsTags(): boolean {
    return this.approvalTags.size > 0;
  }

  decide(toolSlug: string, tags: readonly string[] = []): ToolDecision {
    const slug = toolSlug.toUpperCase();
    const denied = this.deny.find((rule) => rule.test(slug));
    if (denied) return { allowed: false, rule: `deny:${denied.pattern}` };
    if (this.allow !== null && !this.allow.some((rule) => rule.test(slug))) return { allowed: false, rule: "allow" };
    const approval = this.approvalTools.filter((rule) => rule.test(slug)).map((rule) => `tool:${rule.pattern}`);
    for (const tag of tags) if (this.approvalTags.has(tag)) approval.push(`tag:${tag}`);
    return { allowed: true, approval };
  }
}

interface Rule {
  pattern: string;
  test(slug: string): boolean;
}

function compile(pattern: string): Rule {
  if (pattern === "*") return { pattern, test: () => true };
  if (pattern === pattern.toLowerCase() && !pattern.includes("*")) {
    const prefix = `${pattern.toUpperCase()}_`;
    return { pattern, test: (slug) => slug.startsWith(prefix) };
  }
  const regex = new RegExp(`^${pattern.split("*").map(escapeRegex).join(".*")}$`);
  return { pattern, test: (slug) => regex.test(slug) };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Why a tool was refused, in words for the caller (and the agent behind it). */
export function describeDenial(toolSlug: string, rule: string): string {
  return rule === "allow"
    ? `Tool "${toolSlug}" is not in the tool policy's allow list`
    : `Tool "${toolSlug}" is denied by the tool policy (${rule.slice("deny:".length)})`;
}
