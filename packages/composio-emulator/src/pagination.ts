import { EmulatorApiError, ERRORS } from "./errors.js";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

export interface CursorPage<T> {
  items: T[];
  next_cursor: string | null;
  total_pages: number;
  current_page: number;
  total_items: number;
}

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString("base64url");
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^offset:(\d+)$/.exec(text);
  if (!match) throw new EmulatorApiError(ERRORS.BAD_REQUEST, "Invalid cursor");
  return Number(match[1]);
}

/** Composio's cursor pagination over an in-memory list. */
export function paginate<T>(all: T[], query: { limit?: unknown; cursor?: unknown }): CursorPage<T> {
  const limit = parseLimit(query.limit);
  const cursor = typeof query.cursor === "string" && query.cursor !== "" ? query.cursor : null;
  const offset = cursor ? decodeCursor(cursor) : 0;
  const items = all.slice(offset, offset + limit);
  const end = offset + items.length;
  return {
    items,
    next_cursor: end < all.length ? encodeCursor(end) : null,
    total_pages: Math.max(1, Math.ceil(all.length / limit)),
    current_page: Math.floor(offset / limit) + 1,
    total_items: all.length,
  };
}

function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === null || raw === "") return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new EmulatorApiError(ERRORS.BAD_REQUEST, `limit must be an integer between 1 and ${MAX_LIMIT}`);
  }
  return n;
}

/** Array query parameters arrive comma-joined (`a,b`), repeated (`a&a`) or both: accept all. */
export function arrayParam(raw: unknown): string[] | null {
  if (raw === undefined || raw === null) return null;
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(","));
  const values = parts.map((v) => v.trim()).filter((v) => v !== "");
  return values.length > 0 ? values : null;
}

/** The last value of a possibly repeated scalar query parameter. */
export function scalarParam(raw: unknown): string | undefined {
  if (Array.isArray(raw)) return raw.length > 0 ? String(raw[raw.length - 1]) : undefined;
  return raw === undefined || raw === null ? undefined : String(raw);
}

export function boolParam(raw: unknown): boolean | undefined {
  const v = scalarParam(raw);
  if (v === undefined || v === "") return undefined;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new EmulatorApiError(ERRORS.BAD_REQUEST, `Invalid boolean: ${v}`);
}
