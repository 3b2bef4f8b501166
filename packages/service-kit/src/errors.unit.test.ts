import { AppError } from "@kronos/shared";
import type { FastifyError } from "fastify";
import { describe, expect, it } from "vitest";
import { toAppError, validationDetails } from "./errors.js";

const fastifyError = (props: Partial<FastifyError> & { message?: string }) =>
  Object.assign(new Error(props.message ?? "x"), props) as FastifyError;

describe("toAppError", () => {
  it("keeps our errors", () => {
    const error = new AppError("CONFLICT", "taken");
    expect(toAppError(error)).toBe(error);
  });

  it("maps fastify's body errors", () => {
    expect(toAppError(fastifyError({ code: "FST_ERR_CTP_INVALID_MEDIA_TYPE", statusCode: 415 })).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(toAppError(fastifyError({ code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 })).code).toBe("PAYLOAD_TOO_LARGE");
    expect(toAppError(fastifyError({ code: "FST_ERR_CTP_INVALID_JSON_BODY", statusCode: 400 })).code).toBe("BAD_REQUEST");
    expect(toAppError(Object.assign(new SyntaxError("Unexpected token"), { statusCode: 400 }) as unknown as FastifyError).code).toBe(
      "BAD_REQUEST",
    );
    expect(toAppError(fastifyError({ statusCode: 429, message: "slow down" })).code).toBe("RATE_LIMITED");
  });

  it("hides anything else behind INTERNAL", () => {
    const mapped = toAppError(new Error("connect ECONNREFUSED postgres://user:pw@db"));
    expect(mapped.toBody()).toEqual({ error: { code: "INTERNAL", message: "Internal server error" } });
  });
});

describe("validationDetails", () => {
  it("names each field, and each unknown key", () => {
    const details = validationDetails({
      validationContext: "body",
      validation: [
        { keyword: "invalid_type", instancePath: "/user_id", schemaPath: "", params: {}, message: "Invalid input: expected string" },
        { keyword: "unrecognized_keys", instancePath: "/", schemaPath: "", params: { keys: ["a", "b"] }, message: "Unrecognized keys" },
        { keyword: "too_big", instancePath: "/labels/3", schemaPath: "", params: {}, message: "Too big" },
      ],
    });
    expect(details).toEqual([
      { field: "body.user_id", message: "Invalid input: expected string" },
      { field: "body.a", message: "Unknown field" },
      { field: "body.b", message: "Unknown field" },
      { field: "body.labels.3", message: "Too big" },
    ]);
  });
});
