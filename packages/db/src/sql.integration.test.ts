import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type Database, isDuplicateKeyError, prismaSql } from "./index.js";

const url = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/kronos_test";
let db: Database;

beforeAll(() => {
  db = createDatabase(url, { poolSize: 2 });
});

afterAll(async () => {
  await db.close();
  await db.close(); // twice is harmless
});

describe("createDatabase", () => {
  it("runs named (prepared) statements on the pool Prisma uses, and the same statements through Prisma", async () => {
    const id = `msg_sqltest_${randomUUID()}`;
    const insert = {
      name: "db-test-insert-webhook",
      text: "INSERT INTO webhook_events (id, type, payload) VALUES ($1, $2, $3::jsonb) RETURNING type",
      values: [id, "test.sql", JSON.stringify({ id })],
    };
    expect(await db.sql.rows<{ type: string }>(insert)).toEqual([{ type: "test.sql" }]);
    // The same prepared statement again, on whichever pooled connection: a duplicate key this time.
    const again = await db.sql.rows(insert).catch((error: unknown) => error);
    expect(isDuplicateKeyError(again)).toBe(true);
    const throughPrisma = await prismaSql(db.prisma)
      .rows(insert)
      .catch((error: unknown) => error);
    expect(isDuplicateKeyError(throughPrisma)).toBe(true);

    expect(await db.prisma.webhookEvent.findUnique({ where: { id }, select: { type: true } })).toEqual({ type: "test.sql" });
    const remove = { text: "DELETE FROM webhook_events WHERE id = ANY($1::text[])", values: [[id]] };
    expect(await prismaSql(db.prisma).count(remove)).toBe(1);
    expect(await db.sql.count(remove)).toBe(0);
  });
});
