import { AppError } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "./cursor.js";

describe("cursor", () => {
  it("round-trips a position and stays opaque", () => {
    const position = { createdAt: new Date("2026-11-24T09:01:02.345Z"), id: "7d0f6a9e-3c1b-4f7e-9a2d-5b8c1e0f2a3b" };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it("rejects garbage as a validation error on the cursor field", () => {
    for (const bad of [
      "",
      "garbage",
      Buffer.from("2026-11-24T09:01:02.345Z|not-a-uuid").toString("base64url"),
      Buffer.from("yesterday|x|y").toString("base64url"),
    ]) {
      const error = (() => {
        try {
          decodeCursor(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).toBody()).toMatchObject({
        error: { code: "VALIDATION_FAILED", details: [{ field: "querystring.cursor" }] },
      });
    }
  });
});
