/**
 * Composio's error envelope `{ error: { message, code, slug, status, request_id } }`. The numeric codes that
 * COMPOSIO.md names (600, 1803, 1812, 2401) are Composio's; the others are the emulator's own choice.
 */
export const ERRORS = {
  UNAUTHORIZED: { code: 401, slug: "Unauthorized", status: 401 },
  BAD_REQUEST: { code: 400, slug: "BadRequest", status: 400 },
  NOT_FOUND: { code: 404, slug: "NotFound", status: 404 },
  INTERNAL: { code: 500, slug: "InternalServerError", status: 500 },
  CONNECTED_ACCOUNT_BAD_REQUEST: { code: 600, slug: "ConnectedAccount_BadRequest", status: 400 },
  AUTH_CONFIG_NOT_FOUND: { code: 1701, slug: "AuthConfig_NotFound", status: 404 },
  AUTH_CONFIG_DISABLED: { code: 1702, slug: "AuthConfig_Disabled", status: 400 },
  CONNECTED_ACCOUNT_NOT_FOUND: { code: 1803, slug: "ConnectedAccount_NotFound", status: 404 },
  CONNECTED_ACCOUNT_NOT_USABLE: { code: 1810, slug: "ConnectedAccount_NotActive", status: 422 },
  CONNECTED_ACCOUNT_USER_MISMATCH: { code: 1812, slug: "ConnectedAccount_UserIdMismatch", status: 400 },
  TOOLKIT_NOT_FOUND: { code: 2201, slug: "Toolkit_NotFound", status: 404 },
  TOOL_NOT_FOUND: { code: 2401, slug: "Tool_NotFound", status: 404 },
  TOOL_INVALID_ARGUMENTS: { code: 2402, slug: "Tool_InvalidArguments", status: 400 },
  TRIGGER_TYPE_NOT_FOUND: { code: 2601, slug: "TriggerType_NotFound", status: 404 },
  TRIGGER_INSTANCE_NOT_FOUND: { code: 2602, slug: "TriggerInstance_NotFound", status: 404 },
  TRIGGER_INVALID_CONFIG: { code: 2603, slug: "Trigger_InvalidConfig", status: 400 },
} as const;

export type ErrorKind = (typeof ERRORS)[keyof typeof ERRORS];

export class EmulatorApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly status: number = kind.status,
  ) {
    super(message);
  }
}

export function errorBody(kind: { code: number; slug: string }, status: number, message: string, requestId: string) {
  return { error: { message, code: kind.code, slug: kind.slug, status, request_id: requestId } };
}
