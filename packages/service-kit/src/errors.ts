import type { Socket } from "node:net";
import { AppError, ERROR_STATUS, type ErrorBody, type ErrorCode } from "@kronos/shared";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { globalPlugin } from "./global-plugin.js";
import { API_SECURITY_HEADERS } from "./security-headers.js";

export interface FieldProblem {
  field: string;
  message: string;
}

/** An error that tells the client when to try again: its answer carries `Retry-After`. */
interface RetryAfter {
  retryAfterSeconds: number;
}

/**
 * The one place that turns anything thrown into `{ error: { code, message, details? } }`, on every service: route
 * errors, validation failures, unknown routes. The router's and the HTTP parser's own errors come through
 * `routerErrorHandler` and `clientErrorHandler` (Fastify options, set by `createServiceApp`). No answer repeats the
 * request's URL.
 */
export const errorsPlugin = globalPlugin("errors", async (app) => {
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(request, reply, toAppError(error)));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new AppError("NOT_FOUND", `No route for ${request.method} at this path`)),
  );
});

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError & { cause?: unknown }): FastifyReply {
  if (error.status >= 500) request.log.error({ err: error.cause ?? error }, "request failed");
  const retryAfter = (error as Partial<RetryAfter>).retryAfterSeconds;
  if (typeof retryAfter === "number") reply.header("retry-after", String(retryAfter));
  // 5xx: the message is ours (safe), the details never leave.
  const body: ErrorBody = error.status >= 500 ? { error: { code: error.code, message: error.message } } : error.toBody();
  // The host's hooks may have chosen the headers already (the gateway's page set outside /api/); the router's
  // errors come before any hook, and get the API's.
  if (!reply.hasHeader("content-security-policy")) reply.headers(API_SECURITY_HEADERS);
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
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError("BAD_REQUEST", "The body does not match its Content-Length");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("PAYLOAD_TOO_LARGE", "The body is too large");
    case "FST_ERR_BAD_URL":
      return new AppError("BAD_REQUEST", "The URL is malformed (a bad percent-escape?)");
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new AppError("URI_TOO_LONG", "A path segment is too long");
  }
  const status = fastifyError.statusCode ?? 500;
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

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route or hook runs (a bad percent-escape such as
 * `/%zz`, a path segment over the length limit). Fastify's default answer repeats the URL in its own body shape.
 */
export function routerErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, toAppError(error));
}

/** The answers to what the HTTP parser refuses, by Node's error code; anything else it refuses is a 400. */
const CLIENT_ERRORS: Record<string, AppError> = {
  ERR_HTTP_REQUEST_TIMEOUT: new AppError("REQUEST_TIMEOUT", "The request took too long to arrive"),
  HPE_HEADER_OVERFLOW: new AppError("HEADERS_TOO_LARGE", "The request headers are too large"),
};
const MALFORMED_REQUEST = new AppError("BAD_REQUEST", "The request is not valid HTTP");

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the bytes (a timeout, oversized headers, garbage) and
 * there is no request to reply to, only the socket. Answered in our shape, with our headers, then closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const appError = CLIENT_ERRORS[error.code ?? ""] ?? MALFORMED_REQUEST;
  if (socket.writable) {
    const body = JSON.stringify(appError.toBody());
    const headers = {
      ...API_SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(body)),
      connection: "close",
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(`HTTP/1.1 ${appError.status} ${STATUS_TEXT[appError.status] ?? "Bad Request"}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" };
