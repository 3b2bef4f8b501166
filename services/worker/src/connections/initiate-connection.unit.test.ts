import { ComposioError, connectionCallbackUrl } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import { jobFailureFromComposioError } from "../jobs/failure-policy.js";
import { managedAuthConfigKey, usesConnectLink } from "./initiate-connection.js";

describe("usesConnectLink", () => {
  it("uses the hosted link for Composio-managed OAuth configs only", () => {
    expect(usesConnectLink({ isComposioManaged: true, authScheme: "OAUTH2" })).toBe(true);
    expect(usesConnectLink({ isComposioManaged: true, authScheme: "oauth1" })).toBe(true);
    expect(usesConnectLink({ isComposioManaged: false, authScheme: "OAUTH2" })).toBe(false);
    expect(usesConnectLink({ isComposioManaged: true, authScheme: "API_KEY" })).toBe(false);
    expect(usesConnectLink({ isComposioManaged: false, authScheme: "BEARER_TOKEN" })).toBe(false);
  });
});

describe("names", () => {
  it("builds the callback URL and the managed key", () => {
    expect(connectionCallbackUrl("https://gw.example/", "c1", "s_1")).toBe(
      "https://gw.example/api/v1/composio/connections/c1/callback?k=s_1",
    );
    expect(connectionCallbackUrl("http://localhost:8000", "c1", "a+b")).toBe(
      "http://localhost:8000/api/v1/composio/connections/c1/callback?k=a%2Bb",
    );
    expect(managedAuthConfigKey("t1", "github")).toBe("t1:github");
  });
});

describe("jobFailureFromComposioError", () => {
  const ctx = { stage: "create_auth_config" as const, toolkit: "nosuchkit" };
  it("maps an unknown toolkit or auth config to NOT_FOUND", () => {
    expect(jobFailureFromComposioError(new ComposioError("not_found", "Toolkit not found", { status: 404 }), ctx).code).toBe("NOT_FOUND");
    expect(jobFailureFromComposioError(new ComposioError("client", "Toolkit nosuchkit not found", { status: 400 }), ctx).code).toBe(
      "NOT_FOUND",
    );
    const startFailure = jobFailureFromComposioError(new ComposioError("not_found", "gone", { status: 404 }), {
      stage: "start_connection",
      toolkit: "github",
      authConfigId: "ac_1",
    });
    expect(startFailure).toEqual({ code: "NOT_FOUND", message: 'Auth config "ac_1" not found at Composio' });
  });
  it("maps other 400s to BAD_REQUEST with Composio's message", () => {
    const failure = jobFailureFromComposioError(new ComposioError("client", "Managed auth is not available", { status: 400 }), ctx);
    expect(failure).toEqual({ code: "BAD_REQUEST", message: "Composio rejected the request: Managed auth is not available" });
  });
  it("maps our credentials being refused to UPSTREAM_ERROR, a conflict to CONFLICT, as every job does", () => {
    expect(jobFailureFromComposioError(new ComposioError("auth", "Invalid API key xyz", { status: 401 }), ctx)).toEqual({
      code: "UPSTREAM_ERROR",
      message: "Composio refused our credentials",
    });
    expect(jobFailureFromComposioError(new ComposioError("client", "conflict", { status: 409 }), ctx).code).toBe("CONFLICT");
  });
});
