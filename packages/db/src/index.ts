import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { failFast } from "./fail-fast.js";
import { PrismaClient } from "./generated/prisma/client.js";
import { poolSql, type Sql } from "./sql.js";

export * from "./accepted-jobs.js";
export * from "./audit.js";
export * from "./execution-completion.js";
export * from "./execution-lifecycle.js";
export * from "./execution-view.js";
export * from "./generated/prisma/client.js";
export * from "./known-trigger.js";
export * from "./sql.js";
export * from "./tool-policies.js";
export * from "./webhook-claims.js";

/**
 * One Prisma client over the pg driver adapter (no binary query engine; see ../shared/PLATFORM.md), for callers that
 * need no hot statements: `$disconnect` ends its pool.
 */
export function createPrismaClient(databaseUrl: string, options: DatabaseOptions = {}): PrismaClient {
  return createDatabase(databaseUrl, options).prisma;
}

/** A service's database: the Prisma client, and the same pool for the hot statements (`sql`). */
export interface Database {
  prisma: PrismaClient;
  sql: Sql;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  poolSize?: number;
  /** How long to wait for a connection (an unreachable Postgres fails after this, not after the OS gives up). */
  connectTimeoutMs?: number;
  /** Longest a statement may take: client-side (a partitioned Postgres answers nothing) and server-side. */
  queryTimeoutMs?: number;
}

/** The bounds a service sets on its database from its config (DATABASE_CONNECT_TIMEOUT_MS, DATABASE_QUERY_TIMEOUT_MS). */
export function databaseOptions(config: {
  DATABASE_POOL_SIZE: number;
  DATABASE_CONNECT_TIMEOUT_MS: number;
  DATABASE_QUERY_TIMEOUT_MS: number;
}): DatabaseOptions {
  return {
    poolSize: config.DATABASE_POOL_SIZE,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
  };
}

/** How much longer than the server's statement timeout the client waits for an answer. */
const CLIENT_TIMEOUT_MARGIN_MS = 250;

export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectTimeoutMs }),
    // The server ends a statement past the timeout and says so; the client stops waiting a little later, so that a
    // statement that got no answer at all (Postgres unreachable) is told apart from a slow one.
    ...(options.queryTimeoutMs === undefined
      ? {}
      : { query_timeout: options.queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS, statement_timeout: options.queryTimeoutMs }),
  });
  // An idle client whose server went away emits "error" on the pool: without a listener, that kills the process.
  pool.on("error", () => undefined);
  // While Postgres is unreachable, callers hear so at once (see failFast).
  failFast(pool);
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
