import type { Sql, Statement } from "@kronos/db";
import { describe, expect, it } from "vitest";
import { type WebhookRow, WebhookStore } from "./webhook-store.js";

/** A fake runner: records each INSERT's ids; `existing` ids conflict; a `bad` id fails any statement holding it. */
function fakeSql(existing: Set<string>, bad = new Set<string>()) {
  const statements: string[][] = [];
  const sql: Sql = {
    rows: async <T>(statement: Statement) => {
      const ids = statement.values[0] as string[];
      statements.push(ids);
      await Promise.resolve();
      if (ids.some((id) => bad.has(id))) throw new Error("invalid input syntax for type json");
      const inserted = ids.filter((id) => !existing.has(id));
      for (const id of inserted) existing.add(id);
      return inserted.map((id) => ({ id })) as T[];
    },
    count: async () => 0,
  };
  return { sql, statements };
}

const row = (id: string): WebhookRow => ({ id, type: "composio.trigger.message", tenantId: null, payload: "{}" });

describe("WebhookStore", () => {
  it("coalesces concurrent deliveries into few INSERTs and tells each caller whether its row was new", async () => {
    const { sql, statements } = fakeSql(new Set(["msg_old"]));
    const store = new WebhookStore(sql, 100, 1);
    const ids = ["msg_a", "msg_b", "msg_old", "msg_a", "msg_c"];
    const results = await Promise.all(ids.map((id) => store.insert(row(id))));
    // The first copy of msg_a is new, its second copy in the same batch is a duplicate; msg_old existed.
    expect(results).toEqual([true, true, false, false, true]);
    expect(statements.length).toBeLessThanOrEqual(2);
    // The first delivery starts an INSERT alone; the others, arriving meanwhile, share the next (an id once in it).
    for (const ids of statements) expect(new Set(ids).size).toBe(ids.length);
  });

  it("does not let one bad row fail the others of its batch", async () => {
    const { sql } = fakeSql(new Set(), new Set(["msg_bad"]));
    const store = new WebhookStore(sql, 100, 1);
    await store.insert(row("msg_first"));
    const outcomes = await Promise.allSettled(["msg_x", "msg_bad", "msg_y"].map((id) => store.insert(row(id))));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(outcomes[0]).toEqual({ status: "fulfilled", value: true });
  });
});
