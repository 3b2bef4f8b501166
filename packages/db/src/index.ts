import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.js";
import { poolSql, type Sql } from "./sql.js";

export * from "./execution-lifecycle.js";
export * from "./generated/prisma/client.js";
export * from "./known-trigger.js";
export * from "./sql.js";
export * from "./tool-policies.js";

/**
 * One Prisma client over the pg driver adapter (no binary query engine; see ../shared/PLATFORM.md), for callers that
 * need no hot statements: `$disconnect` ends its pool.
 */
export function createPrismaClient(databaseUrl: string, options: { poolSize?: number } = {}): PrismaClient {
  return createDatabase(databaseUrl, options).prisma;
}

/** A service's database: the Prisma client, and the same pool for the hot statements (`sql`). */
export interface Database {
  prisma: PrismaClient;
  sql: Sql;
  close(): Promise<void>;
}

export function createDatabase(databaseUrl: string, options: { poolSize?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
  // disposeExternalPool: the client's $disconnect ends the pool too (as when the adapter makes its own).
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  let closed: Promise<void> | undefined;
  return {
    prisma,
    sql: poolSql(pool),
    close() {
      // $disconnect ends the pool once the client has connected; ending it here covers a client never used.
      closed ??= prisma.$disconnect().then(() => pool.end().catch(() => undefined));
      return closed;
    },
  };
}
