import { describe, expect, it } from "vitest";
import { openJobSecret, sealJobSecret } from "./job-secrets.js";

const secret = "a-session-secret-of-at-least-32-characters";

describe("job secrets", () => {
  it("round-trips, and the sealed form does not contain the secret", () => {
    const sealed = sealJobSecret({ client_id: "id", client_secret: "very-secret-value" }, secret);
    expect(sealed).not.toContain("very-secret-value");
    expect(openJobSecret(sealed, secret)).toEqual({ client_id: "id", client_secret: "very-secret-value" });
  });

  it("refuses a tampered value or another key", () => {
    const sealed = sealJobSecret({ a: 1 }, secret);
    const [iv, tag, body] = sealed.split(".");
    // Changes the second-to-last character (always a different one: comparing the last one left it alone 1 time in 64).
    const flipped = `${iv}.${tag}.${body!.slice(0, -2)}${body!.at(-2) === "A" ? "B" : "A"}${body!.slice(-1)}`;
    expect(() => openJobSecret(flipped, secret)).toThrow();
    expect(() => openJobSecret(sealed, `${secret}-other`)).toThrow();
  });
});
