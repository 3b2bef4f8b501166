import { describe, expect, it } from "vitest";
import { callbackSecretMatches, generateCallbackSecret, signUserToken, verifyUserToken } from "./auth.js";

const SECRET = "s".repeat(32);
const token = signUserToken({ tenantId: "t1", userId: "alice", exp: Math.floor(Date.now() / 1000) + 60 }, SECRET);

describe("user tokens have one spelling", () => {
  it("accepts the token as signed", () => {
    expect(verifyUserToken(token, SECRET)).toMatchObject({ ok: true, claims: { tenantId: "t1", userId: "alice" } });
  });

  it("refuses altered encodings of a valid signature", () => {
    const at = token.lastIndexOf(".") + 5;
    const altered = [`${token}=`, `${token}==`, `${token}!`, `${token.slice(0, at)}*${token.slice(at)}`, `${token} `, `${token}\n`];
    for (const spelling of altered) expect(verifyUserToken(spelling, SECRET), JSON.stringify(spelling)).toMatchObject({ ok: false });
  });

  it("refuses the signature in standard base64 (+ and / for - and _)", () => {
    // A token whose signature has a "-" or "_" (most do; try expiries until one has).
    let signed = token;
    for (let exp = Math.floor(Date.now() / 1000) + 60; !/[-_]/.test(signed.slice(signed.lastIndexOf(".") + 1)); exp += 1)
      signed = signUserToken({ tenantId: "t1", userId: "alice", exp }, SECRET);
    const dot = signed.lastIndexOf(".");
    const standard = Buffer.from(signed.slice(dot + 1), "base64url")
      .toString("base64")
      .replace(/=+$/, "");
    expect(verifyUserToken(signed.slice(0, dot + 1) + standard, SECRET)).toEqual({ ok: false, reason: "bad_signature" });
  });
});

describe("a connection's callback secret", () => {
  it("is 32 random bytes, stored as its SHA-256, and matches only itself", () => {
    const { secret, hash } = generateCallbackSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(generateCallbackSecret().secret).not.toBe(secret);
    expect(callbackSecretMatches(secret, hash)).toBe(true);
    for (const wrong of [undefined, null, "", `${secret} `, secret.slice(1), [secret], 42]) {
      expect(callbackSecretMatches(wrong, hash), JSON.stringify(wrong)).toBe(false);
    }
    // A connection made before callback secrets has none: nothing matches.
    expect(callbackSecretMatches(secret, null)).toBe(false);
    expect(callbackSecretMatches(secret, "not-a-hash")).toBe(false);
  });
});
