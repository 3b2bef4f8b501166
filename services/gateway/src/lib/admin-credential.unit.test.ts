import { describe, expect, it } from "vitest";
import { isAdminAuthorization } from "./admin-credential.js";

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
