import { describe, expect, it } from "vitest";
import { canonicalJson, requestHash } from "./idempotency.js";

describe("idempotency hashing", () => {
  it("ignores key order and undefined, at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(requestHash({ a: 1, b: { c: 2 } })).toBe(requestHash({ b: { c: 2 }, a: 1 }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: "1" }));
  });
});
