import { readFileSync } from "node:fs";
import { AUDIT_ACTIONS } from "@kronos/shared";
import { describe, expect, it } from "vitest";

// docs/audit-log.md lists every action a record can have; this keeps that table and AUDIT_ACTIONS, the one list the
// writers take their actions from, saying the same.
const markdown = readFileSync(new URL("../docs/audit-log.md", import.meta.url), "utf8");
const documented = [...markdown.matchAll(/^\| `([a-z_]+\.[a-z_]+)` \| ([a-z_]+) \|/gm)].map((m) => [m[1], m[2]] as const);

describe("docs/audit-log.md", () => {
  it("lists every action of AUDIT_ACTIONS once, with its resource type", () => {
    expect(documented.map(([action]) => action).sort()).toEqual(Object.keys(AUDIT_ACTIONS).sort());
    for (const [action, resource] of documented) expect(AUDIT_ACTIONS[action as keyof typeof AUDIT_ACTIONS].resource).toBe(resource);
  });
});
