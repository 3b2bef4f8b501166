import { describe, expect, it } from "vitest";
import { sessionKeeps } from "../use-cases/agent-tools.js";
import { OpenCalls, requestKey } from "./open-calls.js";
import { executionResult, toMcpTool } from "./results.js";
import { callIdempotencyKey, elicitationRequestId, executionOfElicitation } from "./server.js";

describe("an agent session's limits", () => {
  it("keeps a tool only when it is within both the toolkits and the tool patterns", () => {
    const keeps = sessionKeeps({ toolkits: ["github", "gmail"], tools: ["GITHUB_GET_*", "gmail"] });
    expect(keeps("GITHUB_GET_THE_AUTHENTICATED_USER")).toBe(true);
    expect(keeps("GMAIL_SEND_EMAIL")).toBe(true);
    expect(keeps("GITHUB_CREATE_AN_ISSUE")).toBe(false);
    expect(keeps("SLACK_SEND_MESSAGE")).toBe(false);
    expect(sessionKeeps({ toolkits: null, tools: null })("ANYTHING_AT_ALL")).toBe(true);
    expect(sessionKeeps({ toolkits: null, tools: ["*_LIST_*"] })("SLACK_LIST_ALL_CHANNELS")).toBe(true);
  });
});

describe("MCP identifiers", () => {
  it("one idempotency key per (protocol session, request id): printable, bounded, a number and a string apart", () => {
    const session = "0b6f1c2e-0000-4000-8000-000000000000";
    expect(callIdempotencyKey(session, 1)).toBe(callIdempotencyKey(session, 1));
    expect(callIdempotencyKey(session, 1)).not.toBe(callIdempotencyKey(session, "1"));
    expect(callIdempotencyKey(session, "x".repeat(10_000))).toMatch(/^[\x21-\x7e]{1,255}$/);
    expect(requestKey(session, 1)).not.toBe(requestKey(session, "1"));
  });

  it("an elicitation's request id names its execution", () => {
    const executionId = "5d1c2e3f-0000-4000-8000-000000000001";
    const id = elicitationRequestId(executionId);
    expect(executionOfElicitation(id)).toBe(executionId);
    expect(elicitationRequestId(executionId)).not.toBe(id);
  });
});

describe("OpenCalls", () => {
  it("aborts a session's calls on revocation, one call on cancellation, all on shutdown, and forgets closed ones", () => {
    const calls = new OpenCalls();
    const a = calls.open("s1", "p:number:1");
    const b = calls.open("s1", "p:number:2");
    const c = calls.open("s2", "q:number:1");
    calls.abortRequest("p:number:2");
    expect([a.signal.aborted, b.signal.aborted, c.signal.aborted]).toEqual([false, true, false]);
    calls.abortSession("s1");
    expect(a.signal.aborted).toBe(true);
    expect(c.signal.aborted).toBe(false);
    calls.abortAll();
    expect(c.signal.aborted).toBe(true);
    for (const call of [a, b, c]) call.close();
    expect(calls.size).toBe(0);
    const parent = new AbortController();
    const child = calls.open("s3", "r:number:1", parent.signal);
    parent.abort();
    expect(child.signal.aborted).toBe(true);
    child.close();
  });
});

describe("results", () => {
  it("Composio's tags become MCP hints, only where they say so", () => {
    const tool = toMcpTool({
      name: "GITHUB_DELETE_A_REPOSITORY",
      action: "GITHUB_DELETE_A_REPOSITORY",
      toolkit: "github",
      title: "Delete a repository",
      description: "Deletes it",
      inputSchema: { type: "object", properties: {}, required: [] },
      tags: ["repos", "destructiveHint"],
      requiresApproval: true,
    });
    expect(tool.annotations).toEqual({ title: "Delete a repository", destructiveHint: true });
    expect(tool._meta).toMatchObject({ "kronos/action": "GITHUB_DELETE_A_REPOSITORY", "kronos/requires_approval": true });
  });

  it("a failed execution is a tool error with its reason; a succeeded one carries the data", () => {
    const base = {
      execution_id: "5d1c2e3f-0000-4000-8000-000000000001",
      user_id: "alice",
      action_name: "GITHUB_X",
      connected_account_id: null,
      successful: null,
      data: null,
      result_truncated: false,
      log_id: null,
      duration_ms: null,
      attempts: 1,
      created_at: new Date(0).toISOString(),
      started_at: null,
      completed_at: null,
    };
    const failed = executionResult({ ...base, status: "FAILED", error: { code: "UPSTREAM_ERROR", message: "boom" } });
    expect(failed.isError).toBe(true);
    expect(JSON.stringify(failed.content)).toContain("UPSTREAM_ERROR: boom");
    const done = executionResult({ ...base, status: "SUCCEEDED", successful: true, data: { login: "a" }, error: null });
    expect(done.isError).toBeUndefined();
    expect(done.structuredContent).toMatchObject({ status: "SUCCEEDED", data: { login: "a" } });
  });
});
