import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcceptedJobRecord, createDatabase, type Database, insertAcceptedJob, type Sql } from "./index.js";

const url = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/kronos_test";
const keyPrefix = `accepted-test-${randomUUID()}`;
let db: Database;
let tenantId: string;

beforeAll(async () => {
  db = createDatabase(url, { poolSize: 4 });
  tenantId = randomUUID();
  await db.prisma.tenant.create({ data: { id: tenantId, name: "accepted jobs test" } });
});
afterAll(async () => {
  await db.prisma.acceptedJob.deleteMany({ where: { keyPrefix } });
  await db.prisma.tenant.delete({ where: { id: tenantId } });
  await db.close();
});

const record = (jobId = randomUUID()): AcceptedJobRecord => ({
  queue: "tool-execution",
  name: "execute-tool",
  jobId,
  tenantId,
  data: { executionId: jobId, note: 'quotes " and \\ backslashes, {braces}, ünïcödé' },
  opts: { jobId, attempts: 3 },
});

/** The pool's statements, counted. */
function counting(sql: Sql): Sql & { statements: number } {
  const counted = {
    statements: 0,
    rows: <T>(statement: Parameters<Sql["rows"]>[0]) => {
      counted.statements += 1;
      return sql.rows<T>(statement);
    },
    count: (statement: Parameters<Sql["count"]>[0]) => {
      counted.statements += 1;
      return sql.count(statement);
    },
  };
  return counted;
}

describe("insertAcceptedJob", () => {
  it("stores each record as given; records accepted together share statements", async () => {
    const sql = counting(db.sql);
    const records = Array.from({ length: 40 }, () => record());
    await Promise.all(records.map((r) => insertAcceptedJob(sql, keyPrefix, r)));
    // At most 4 statements run at once; the other records wait and leave together.
    expect(sql.statements).toBeLessThan(records.length);
    const stored = await db.prisma.acceptedJob.findMany({ where: { keyPrefix, jobId: { in: records.map((r) => r.jobId) } } });
    expect(stored).toHaveLength(records.length);
    const first = stored.find((row) => row.jobId === records[0]?.jobId);
    expect(first).toMatchObject({
      queue: "tool-execution",
      name: "execute-tool",
      tenantId,
      data: records[0]?.data,
      opts: records[0]?.opts,
    });
    expect(first?.children).toBeNull();
  });

  it("refuses only the record Postgres refuses: the others of its batch are stored", async () => {
    const sql = counting(db.sql);
    const good = Array.from({ length: 12 }, () => record());
    // A job id accepted before: the key is taken.
    const bad = record();
    await insertAcceptedJob(db.sql, keyPrefix, bad);
    const results = await Promise.allSettled([...good, bad].map((r) => insertAcceptedJob(sql, keyPrefix, r)));
    expect(results.at(-1)?.status).toBe("rejected");
    expect(results.slice(0, -1).every((r) => r.status === "fulfilled")).toBe(true);
    expect(await db.prisma.acceptedJob.count({ where: { keyPrefix, jobId: { in: good.map((r) => r.jobId) } } })).toBe(good.length);
    expect(await db.prisma.acceptedJob.count({ where: { keyPrefix, jobId: bad.jobId } })).toBe(1);
  });
});
