import { describe, expect, it } from "vitest";
import { bulkResults } from "./complete-bulk.js";

describe("bulkResults", () => {
  const items = [
    { queue: "connection-ops", jobId: "j0", connectionId: "c0" },
    { queue: "connection-ops", jobId: "rejected-b-1", connectionId: "c1" },
    { queue: "connection-ops", jobId: "j2", connectionId: "c2" },
  ];

  it("reports each item in request order: done, refused by the gateway with its reason, failed", () => {
    const results = bulkResults(
      items,
      {
        values: { "kronos:connection-ops:j0": { connection_id: "c0", status: "INACTIVE", redirect_url: null } },
        failures: { "kronos:connection-ops:j2": JSON.stringify({ code: "UPSTREAM_ERROR", message: "Composio is unavailable" }) },
      },
      [{ index: 1, code: "NOT_FOUND", message: "Connection not found" }],
    );
    expect(results).toEqual([
      { index: 0, ok: true, connection_id: "c0", status: "INACTIVE", error: null },
      { index: 1, ok: false, connection_id: "c1", status: null, error: { code: "NOT_FOUND", message: "Connection not found" } },
      { index: 2, ok: false, connection_id: "c2", status: null, error: { code: "UPSTREAM_ERROR", message: "Composio is unavailable" } },
    ]);
  });
});
