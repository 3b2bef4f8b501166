import { describe, expect, it } from "vitest";
import { authConfigRefusal } from "./auth-config-rules.js";

const github = { id: "ac_1", toolkitSlug: "github", enabled: true };

describe("authConfigRefusal", () => {
  it("lets a tenant's own enabled config of the toolkit be used, whatever the toolkit's case", () => {
    expect(authConfigRefusal(github, "ac_1", "github")).toBeNull();
    expect(authConfigRefusal({ ...github, toolkitSlug: "GitHub" }, "ac_1", "github")).toBeNull();
  });

  it("answers each failure with its own code", () => {
    expect(authConfigRefusal(null, "ac_x", "github")).toEqual({ code: "NOT_FOUND", message: 'Auth config "ac_x" not found' });
    expect(authConfigRefusal(github, "ac_1", "slack")?.code).toBe("VALIDATION_FAILED");
    expect(authConfigRefusal({ ...github, enabled: false }, "ac_1", "github")?.code).toBe("CONFLICT");
  });
});
