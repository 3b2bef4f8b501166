import { errorBodySchema } from "@kronos/shared/contracts";

/** An error answered by our API: its code and its message, which is safe to show (never a stack). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** What a person can read about any failure: the API's message, or a plain sentence for a network failure. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "The server cannot be reached. Check your connection and try again.";
  return "Something went wrong.";
}

export interface ApiClient {
  request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  /** A GET answered as a file (an export): its bytes, fetched with the Authorization header, never a URL with the key. */
  download(path: string): Promise<Blob>;
}

export const API_BASE = "/api/v1";

/**
 * Calls our public API (same origin) with the signed-in credential. A 401 means the credential has expired or was
 * revoked: `onUnauthenticated` sends the person back to sign-in without unmounting what they were doing.
 */
export function createApiClient(credential: () => string | null, onUnauthenticated: (message: string) => void): ApiClient {
  async function send(method: string, path: string, body: unknown, extraHeaders: Record<string, string>): Promise<Response> {
    const token = credential();
    const headers: Record<string, string> = { accept: "application/json", ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${API_BASE}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  }
  async function failure(response: Response): Promise<ApiError> {
    const parsed = await jsonOf(response);
    const error = errorBodySchema.safeParse(parsed);
    const apiError = error.success
      ? new ApiError(response.status, error.data.error.code, error.data.error.message, error.data.error.details)
      : new ApiError(response.status, "HTTP_ERROR", `The server answered ${response.status} ${response.statusText}`.trim());
    if (response.status === 401) onUnauthenticated(apiError.message);
    return apiError;
  }
  return {
    async download(path: string) {
      const response = await send("GET", path, undefined, { accept: "*/*" });
      if (!response.ok) throw await failure(response);
      return response.blob();
    },
    async request<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}) {
      const response = await send(method, path, body, extraHeaders);
      if (!response.ok) throw await failure(response);
      return { status: response.status, body: (await jsonOf(response)) as T };
    },
  };
}

/** The body as JSON; null when empty or not JSON. */
async function jsonOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** A query string from the set values of an object. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
