import { describe, expect, it } from "vitest";
import { isLoopbackUrl } from "./check-health.js";

describe("isLoopbackUrl", () => {
  it("recognises loopback URLs as the emulator", () => {
    for (const url of ["http://127.0.0.1:8010", "http://localhost:8010/", "http://[::1]:8010", "http://127.1.2.3"])
      expect(isLoopbackUrl(url)).toBe(true);
    for (const url of ["https://backend.composio.dev", "http://10.0.0.1", "not a url"]) expect(isLoopbackUrl(url)).toBe(false);
  });
});
