import type pg from "pg";
import type { PrismaClient } from "./generated/prisma/client.js";

/**
 * One SQL statement with `$1`-style placeholders. A `name` prepares it once per pooled connection (Postgres then
 * skips parsing and planning it again): give one to the hot statements whose text never varies.
 */
export interface Statement {
  name?: string;
  text: string;
  values: unknown[];
}

/** Runs statements: the rows they return, or the number of rows they changed. */
export interface Sql {
  rows<T>(statement: Statement): Promise<T[]>;
  count(statement: Statement): Promise<number>;
}

/**
 * Straight on the pg pool the Prisma client uses: for the few statements on a hot path, where going through Prisma
 * (its query pipeline and WASM compiler, even for raw SQL) costs more CPU than the statement itself.
 */
export function poolSql(pool: pg.Pool): Sql {
  const query = (s: Statement) =>
    pool.query(s.name ? { name: s.name, text: s.text, values: s.values } : { text: s.text, values: s.values });
  return {
    rows: async <T>(s: Statement) => (await query(s)).rows as T[],
    count: async (s: Statement) => (await query(s)).rowCount ?? 0,
  };
}

/** The same statements through a Prisma client (tests, and callers that only have one). */
export function prismaSql(prisma: PrismaClient): Sql {
  return {
    rows: <T>(s: Statement) => prisma.$queryRawUnsafe<T[]>(s.text, ...s.values),
    count: (s: Statement) => prisma.$executeRawUnsafe(s.text, ...s.values),
  };
}

/** Postgres refused a duplicate on a unique index: from pg directly (23505), or through Prisma (P2002, or P2010 around 23505). */
export function isDuplicateKeyError(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  if (typeof e !== "object" || e === null) return false;
  if (e.code === "23505" || e.code === "P2002") return true;
  return e.code === "P2010" && (e.meta?.code === "23505" || e.meta?.driverAdapterError?.cause?.originalCode === "23505");
}
