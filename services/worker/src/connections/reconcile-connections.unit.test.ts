import { describe, expect, it } from "vitest";
import { DELETED_AT_COMPOSIO_REASON, reconcileDecision } from "./reconcile-connections.js";

describe("reconcile decisions", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  const account = (status: "ACTIVE" | "EXPIRED" | "INITIATED", isDisabled = false) => ({ status, isDisabled, statusReason: null });

  it("follows Composio and fails pending connections past their link expiry", () => {
    expect(reconcileDecision({ status: "ACTIVE", expiresAt: null }, "gone", now)).toEqual({
      to: "REVOKED",
      reason: DELETED_AT_COMPOSIO_REASON,
    });
    expect(reconcileDecision({ status: "ACTIVE", expiresAt: null }, account("EXPIRED"), now)?.to).toBe("EXPIRED");
    expect(reconcileDecision({ status: "ACTIVE", expiresAt: null }, account("ACTIVE", true), now)?.to).toBe("INACTIVE");
    expect(reconcileDecision({ status: "INACTIVE", expiresAt: null }, account("ACTIVE", true), now)).toBeNull();
    expect(reconcileDecision({ status: "ACTIVE", expiresAt: null }, account("ACTIVE"), now)).toBeNull();
    const past = new Date(now.getTime() - 1);
    const future = new Date(now.getTime() + 60_000);
    expect(reconcileDecision({ status: "INITIATED", expiresAt: past }, account("INITIATED"), now)?.to).toBe("FAILED");
    expect(reconcileDecision({ status: "INITIATED", expiresAt: future }, account("INITIATED"), now)).toBeNull();
    expect(reconcileDecision({ status: "INITIATED", expiresAt: past }, account("ACTIVE"), now)?.to).toBe("ACTIVE");
  });
});
