import {
  AppError,
  ERROR_STATUS,
  type ErrorBody,
  type ErrorCode,
  isInfrastructureError,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from "@kronos/shared";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { RetryLaterError } from "../lib/composio-errors.js";
import { globalPlugin } from "../lib/global-plugin.js";

export interface FieldProblem {
  field: string;
  message: string;
}

/** The one place that turns anything thrown into `{ error: { code, message, details? } }`. */
export const errorsPlugin = globalPlugin("errors", async (app) => {
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(request, reply, toAppError(error)));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new AppError("NOT_FOUND", `Route ${request.method} ${request.url.split("?")[0]} not found`)),
  );
});

function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError & { cause?: unknown }) {
  if (error.status >= 500) request.log.error({ err: error.cause ?? error }, "request failed");
  // 5xx: the message is ours (safe), the details never leave.
  if (error instanceof RetryLaterError) reply.header("retry-after", String(error.retryAfterSeconds));
  const body: ErrorBody = error.status >= 500 ? { error: { code: error.code, message: error.message } } : error.toBody();
  return reply.status(error.status).type("application/json; charset=utf-8").send(body);
}

export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (Array.isArray(fastifyError.validation)) {
    return new AppError("VALIDATION_FAILED", "The request is invalid", validationDetails(fastifyError));
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new AppError("BAD_REQUEST", "The body is not valid JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError("BAD_REQUEST", "The body is empty but the content type is JSON");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError("UNSUPPORTED_MEDIA_TYPE", "Unsupported content type: send application/json");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("PAYLOAD_TOO_LARGE", "The body is too large");
  }
  const status = fastifyError.statusCode ?? 500;
  // Postgres or Redis away or too slow: a clear "try again shortly", not an internal error.
  if (status >= 500 && isInfrastructureError(error)) {
    return Object.assign(
      new RetryLaterError("A service this request needs is unavailable: retry shortly", UNAVAILABLE_RETRY_AFTER_SECONDS),
      { cause: error },
    );
  }
  if (status === 400 && error instanceof SyntaxError) return new AppError("BAD_REQUEST", "The body is not valid JSON");
  if (status >= 400 && status < 500) return new AppError(codeForStatus(status), fastifyError.message);
  return Object.assign(new AppError("INTERNAL", "Internal server error"), { cause: error });
}

function codeForStatus(status: number): ErrorCode {
  const match = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  return match?.[0] ?? "BAD_REQUEST";
}

/** One entry per offending field, named from the part of the request it is in: "body.user_id", "querystring.limit". */
export function validationDetails(error: Pick<FastifyError, "validation" | "validationContext">): FieldProblem[] {
  const where = error.validationContext ?? "request";
  const problems: FieldProblem[] = [];
  for (const issue of error.validation ?? []) {
    const path = issue.instancePath.replace(/^\//, "").replaceAll("/", ".");
    const base = path ? `${where}.${path}` : where;
    const unknownKeys = (issue.params as { keys?: unknown }).keys;
    if (issue.keyword === "unrecognized_keys" && Array.isArray(unknownKeys)) {
      for (const key of unknownKeys) problems.push({ field: `${base}.${String(key)}`, message: "Unknown field" });
    } else {
      problems.push({ field: base, message: issue.message ?? "Invalid value" });
    }
  }
  return problems;
}
