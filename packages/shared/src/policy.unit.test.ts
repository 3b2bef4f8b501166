import { describe, expect, it } from "vitest";
import { toolPolicySchema } from "./http/policies.js";
import { DEFAULT_TOOL_POLICY, resolveToolPolicy, ToolPolicyMatcher } from "./policy.js";

const matcher = (doc: Parameters<typeof resolveToolPolicy>[0], user: Parameters<typeof resolveToolPolicy>[1] = null) =>
  new ToolPolicyMatcher(resolveToolPolicy(doc, user));

describe("tool policy", () => {
  it("allows everything by default", () => {
    expect(resolveToolPolicy(null, null)).toEqual(DEFAULT_TOOL_POLICY);
    expect(matcher(null).decide("ANY_TOOL")).toEqual({ allowed: true, approval: [] });
  });

  it("matches toolkits by prefix and action patterns as wholes; deny beats allow", () => {
    const m = matcher({ allow: ["github", "GMAIL_SEND_*"], deny: ["GITHUB_DELETE_*"] });
    expect(m.decide("GITHUB_CREATE_AN_ISSUE").allowed).toBe(true);
    expect(m.decide("GITHUBX_CREATE").allowed).toBe(false);
    expect(m.decide("GMAIL_SEND_EMAIL").allowed).toBe(true);
    expect(m.decide("GMAIL_FETCH_EMAILS")).toEqual({ allowed: false, rule: "allow" });
    expect(m.decide("GITHUB_DELETE_A_REPOSITORY")).toEqual({ allowed: false, rule: "deny:GITHUB_DELETE_*" });
    expect(matcher({ allow: [] }).decide("GMAIL_SEND_EMAIL").allowed).toBe(false);
    expect(matcher({ deny: ["*_DELETE_*"] }).decide("LINEAR_DELETE_LINEAR_ISSUE").allowed).toBe(false);
  });

  it("asks for approvals by pattern and by tag", () => {
    const m = matcher({ require_approval: { tools: ["GMAIL_SEND_*"], tags: ["destructiveHint"] } });
    expect(m.needsTags).toBe(true);
    expect(m.decide("GMAIL_SEND_EMAIL")).toEqual({ allowed: true, approval: ["tool:GMAIL_SEND_*"] });
    expect(m.decide("GMAIL_DELETE_MESSAGE", ["destructiveHint"])).toEqual({ allowed: true, approval: ["tag:destructiveHint"] });
    expect(m.decide("GMAIL_FETCH_EMAILS", ["readOnlyHint"])).toEqual({ allowed: true, approval: [] });
    expect(matcher({ require_approval: { tools: ["x"] } }).needsTags).toBe(false);
  });

  it("a user's override replaces only the fields it sets", () => {
    const tenant = { allow: ["github"], deny: ["GITHUB_DELETE_*"], api_key_may_approve: true };
    expect(resolveToolPolicy(tenant, { deny: [] })).toMatchObject({ allow: ["github"], deny: [], api_key_may_approve: true });
    expect(resolveToolPolicy(tenant, { allow: null })).toMatchObject({ allow: null, deny: ["GITHUB_DELETE_*"] });
    expect(resolveToolPolicy({ sign_in_on_demand: false }, { api_key_may_approve: true })).toMatchObject({
      sign_in_on_demand: false,
      api_key_may_approve: true,
    });
  });

  it("patterns: regex characters are literal, mixed case and odd characters are refused", () => {
    expect(matcher({ deny: ["A_*"] }).decide("A_.B").allowed).toBe(false);
    for (const bad of ["Gmail", "GMAIL SEND", "GMAIL.SEND", "**", "", "git*hub", "a\u0000"]) {
      expect(toolPolicySchema.safeParse({ deny: [bad] }).success, bad).toBe(false);
    }
    for (const good of ["*", "github", "google_drive", "GMAIL_SEND_*", "*_DELETE_*"]) {
      expect(toolPolicySchema.safeParse({ deny: [good] }).success, good).toBe(true);
    }
  });
});
