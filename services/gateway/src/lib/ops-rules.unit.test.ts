import { describe, expect, it } from "vitest";
import { isAdminAuthorization } from "./admin-credential.js";
import { canonicalJson, requestHash } from "./idempotency.js";

const TOKEN = "admin-token-0123456789";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("isAdminAuthorization", () => {
  it("accepts the token as Bearer or as any user's Basic password", () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, basic("admin", TOKEN), basic("", TOKEN)])
      expect(isAdminAuthorization(header, TOKEN), header).toBe(true);
  });
  it("refuses anything else (a Basic user id never contains a colon, RFC 7617)", () => {
    for (const header of [
      undefined,
      "",
      TOKEN,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN} extra`,
      basic(TOKEN, "x"),
      "Basic !!!",
      `Digest ${TOKEN}`,
    ])
      expect(isAdminAuthorization(header, TOKEN), String(header)).toBe(false);
  });
});

describe("idempotency hashing", () => {
  it("ignores key order and undefined, at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(requestHash({ a: 1, b: { c: 2 } })).toBe(requestHash({ b: { c: 2 }, a: 1 }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: "1" }));
  });
});
