/** Every error code our API answers with, and its HTTP status: the one place that maps them. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  /** The tenant's tool policy does not let this user run this tool. */
  TOOL_NOT_ALLOWED: 403,
  /** A sign-in's verification code was confirmed for a user other than the one who asked: the connection failed. */
  VERIFICATION_USER_MISMATCH: 403,
  /** No such verification code for this connection. */
  VERIFICATION_CODE_INVALID: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  /** The verification code was already presented once (codes are single use). */
  VERIFICATION_CODE_USED: 409,
  /** The verification code's time ran out (CONNECTION_VERIFICATION_CODE_TTL_SECONDS). */
  VERIFICATION_CODE_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  UPSTREAM_ERROR: 502,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** An error meant for the caller: its code picks the HTTP status, its message is safe to show. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
