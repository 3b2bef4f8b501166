import { describe, expect, it } from "vitest";
import { signUserToken, verifyUserToken } from "./auth.js";

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
