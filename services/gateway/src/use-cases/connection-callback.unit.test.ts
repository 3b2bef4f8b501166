import { describe, expect, it } from "vitest";
import { sanitiseCallbackStatus } from "./connection-callback.js";

describe("sanitiseCallbackStatus", () => {
  it("passes only Composio's two callback outcomes", () => {
    expect(sanitiseCallbackStatus("success")).toBe("success");
    expect(sanitiseCallbackStatus("failed")).toBe("failed");
    for (const other of ["SUCCESS", "<script>", ["success"], undefined, 1]) expect(sanitiseCallbackStatus(other)).toBe("unknown");
  });
});
