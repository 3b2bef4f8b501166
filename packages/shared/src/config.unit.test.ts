import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const required = { COMPOSIO_API_KEY: "key", ADMIN_TOKEN: "0123456789abcdef", SESSION_SECRET: "s".repeat(32) };

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(required);
    expect(config).toMatchObject({ GATEWAY_PORT: 8000, WEBHOOKS_PORT: 8001, HOST: "127.0.0.1", REDIS_KEY_PREFIX: "kronos" });
  });

  it("names every missing or invalid variable at once", () => {
    let error: unknown;
    try {
      loadConfig({ ADMIN_TOKEN: "short", GATEWAY_PORT: "eighty", DATABASE_URL: "mysql://x" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ["COMPOSIO_API_KEY", "ADMIN_TOKEN", "SESSION_SECRET", "GATEWAY_PORT", "DATABASE_URL"]) {
      expect(message).toContain(name);
    }
  });

  it("treats an empty variable as unset, so a default or a clear error applies", () => {
    expect(loadConfig({ ...required, LOG_LEVEL: "" }).LOG_LEVEL).toBe("info");
    expect(() => loadConfig({ ...required, COMPOSIO_API_KEY: "" })).toThrow(/COMPOSIO_API_KEY/);
  });

  it("never echoes a secret's value in its message", () => {
    expect(() => loadConfig({ ...required, SESSION_SECRET: "too-short-secret" })).toThrow(ConfigError);
    try {
      loadConfig({ ...required, SESSION_SECRET: "too-short-secret" });
    } catch (error) {
      expect((error as Error).message).not.toContain("too-short-secret");
    }
  });
});
