import { UnreachableError } from "@kronos/shared";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { failFast, UNREACHABLE_HOLD_MS } from "./fail-fast.js";

/** A pool whose connect answers what the test says, counting the connections it was asked for. */
function fakePool() {
  const state = { asked: 0, next: "ok" as "ok" | "timeout", released: [] as unknown[] };
  const pool = {
    connect(callback?: (error?: Error, client?: unknown) => void) {
      state.asked += 1;
      const client = { release: (error?: unknown) => state.released.push(error) } as unknown as pg.PoolClient;
      const error = state.next === "timeout" ? new Error("Connection terminated due to connection timeout") : undefined;
      if (callback) {
        callback(error, error ? undefined : client);
        return undefined;
      }
      return error ? Promise.reject(error) : Promise.resolve(client);
    },
  };
  return { pool: pool as unknown as pg.Pool, state };
}

describe("failFast", () => {
  it("refuses at once while Postgres is unreachable, lets one caller try after the hold, and its answer ends it", async () => {
    let clock = 0;
    const { pool, state } = fakePool();
    const breaker = failFast(pool, () => clock);

    state.next = "timeout";
    await expect(pool.connect()).rejects.toThrow(/connection timeout/);
    expect(breaker.reachable()).toBe(false);
    // Within the hold: refused without asking for a connection, by promise and by callback (pool.query's way).
    await expect(pool.connect()).rejects.toBeInstanceOf(UnreachableError);
    const byCallback = await new Promise<unknown>((resolve) => pool.connect((error) => resolve(error)));
    expect(byCallback).toBeInstanceOf(UnreachableError);
    expect(state.asked).toBe(1);

    // After the hold, one caller goes through; while it finds out, the others still fail fast.
    clock += UNREACHABLE_HOLD_MS;
    state.next = "ok";
    const probe = await pool.connect();
    await expect(pool.connect()).rejects.toBeInstanceOf(UnreachableError);
    expect(state.asked).toBe(2);
    probe.release(); // its statement was answered
    expect(breaker.reachable()).toBe(true);
    (await pool.connect()).release();
    expect(state.asked).toBe(3);
  });

  it("takes a client given back with a connection error (a statement with no answer) for unreachable, not a statement error", async () => {
    const clock = 0;
    const { pool, state } = fakePool();
    const breaker = failFast(pool, () => clock);
    (await pool.connect()).release(Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" }));
    expect(breaker.reachable()).toBe(true);
    // A connection that broke proves nothing (the pool replaces it); one that got no answer is a partition.
    (await pool.connect()).release(new Error("Connection terminated unexpectedly"));
    expect(breaker.reachable()).toBe(true);
    (await pool.connect()).release(new Error("Query read timeout"));
    expect(breaker.reachable()).toBe(false);
    await expect(pool.connect()).rejects.toBeInstanceOf(UnreachableError);
    expect(state.released).toHaveLength(3);
  });
});
