import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.js";
import { poolSql, type Sql } from "./sql.js";

export * from "./generated/prisma/client.js";
export * from "./sql.js";

/** One Prisma client over the pg driver adapter (no binary query engine; see ../shared/PLATFORM.md). */
export function createPrismaClient(databaseUrl: string, options: { poolSize?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}

/** A service's database: the Prisma client, and the same pool for the hot statements (`sql`). */
export interface Database {
  prisma: PrismaClient;
  sql: Sql;
  close(): Promise<void>;
}

export function createDatabase(databaseUrl: string, options: { poolSize?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed: Promise<void> | undefined;
  return {
    prisma,
    sql: poolSql(pool),
    close() {
      // Prisma ends the pool it was given when it disconnects; ending it again here covers a client never used.
      closed ??= prisma.$disconnect().then(() => pool.end().catch(() => undefined));
      return closed;
    },
  };
}

/** True when the error is Postgres refusing a duplicate on a unique index. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}
