import { AppError, UUID_PATTERN } from "@kronos/shared";

/** A position in a list ordered by created_at desc, id desc. */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

/** Opaque to callers: base64url of "<created_at ISO>|<id>". */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`, "utf8").toString("base64url");
}

/** `idPattern`: what a row id looks like (UUIDs by default; auth configs use Composio's "ac_..." ids). */
export function decodeCursor(cursor: string, idPattern: RegExp = UUID_PATTERN): CursorPosition {
  const invalid = () =>
    new AppError("VALIDATION_FAILED", "The request is invalid", [{ field: "querystring.cursor", message: "Invalid cursor" }]);
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const [iso, id, extra] = text.split("|");
  if (!iso || !id || extra !== undefined) throw invalid();
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) throw invalid();
  // Postgres timestamps end at year 294276 and Prisma's at 9999: a cursor past our rows' range is nobody's.
  const year = createdAt.getUTCFullYear();
  if (year < 1970 || year > 9999) throw invalid();
  if (!idPattern.test(id)) throw invalid();
  return { createdAt, id };
}

/** The rows after a cursor, in the lists' order (created_at desc, id desc): a where clause for any of our tables. */
export function afterCursor(cursor: string, idPattern: RegExp = UUID_PATTERN) {
  const after = decodeCursor(cursor, idPattern);
  return { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] };
}

/** The order every cursor-paged list reads in. */
export const NEWEST_FIRST = [{ createdAt: "desc" as const }, { id: "desc" as const }];

/** One page from rows read with `take: limit + 1` (the extra row only says that there is a next page). */
export function pageOfRows<R extends CursorPosition, V>(
  rows: R[],
  limit: number,
  view: (row: R) => V,
): { items: V[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(view), next_cursor: rows.length > limit && last ? encodeCursor(last) : null };
}
