import { isInfrastructureError, UnreachableError } from "@kronos/shared";
import type pg from "pg";

/** After Postgres was found unreachable, how long every new use of the pool fails at once before one may try again. */
export const UNREACHABLE_HOLD_MS = 1_000;

type ConnectCallback = (error: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void;

/** A statement sent on a live connection that got no answer at all within the client's timeout: a partition. */
const NO_ANSWER = /Query read timeout/i;

/** How long the one caller let through after the hold has to show Postgres answers, before another may try. */
const PROBE_MS = 5_000;

/**
 * Makes a pool answer at once while Postgres is unreachable, instead of making every caller wait for its own
 * connect or query timeout: a request that needs three statements would otherwise wait three timeouts (3 to 5 s
 * in a partition, against the 2 s a caller may wait for an answer). A connection that could not be made, or a client
 * given back with a connection error (a statement that got no answer), marks Postgres unreachable: for
 * UNREACHABLE_HOLD_MS every `connect` (and so every query) fails with UnreachableError; then one caller goes through,
 * and a client given back without a connection error (Postgres answered) ends it. Statement errors from a live
 * server (a constraint, a cancelled statement) count as answers; a connection that broke (reset by a restart, or by
 * the network after a partition healed) counts as neither: the next connection tells.
 */
export function failFast(pool: pg.Pool, now: () => number = Date.now): { reachable(): boolean } {
  let unreachableUntil = 0;
  let probeUntil = 0;
  const refuse = () => {
    const at = now();
    if (unreachableUntil === 0) return false;
    if (at < unreachableUntil || at < probeUntil) return true;
    probeUntil = at + PROBE_MS;
    return false;
  };
  const unreachable = () => {
    unreachableUntil = now() + UNREACHABLE_HOLD_MS;
    probeUntil = 0;
  };
  const answered = () => {
    unreachableUntil = 0;
    probeUntil = 0;
  };
  /** The client, whose release says whether Postgres answered. */
  const watched = (client: pg.PoolClient): pg.PoolClient => {
    const release = client.release.bind(client);
    client.release = (error?: Error | boolean) => {
      if (error instanceof Error && NO_ANSWER.test(error.message)) unreachable();
      // A connection that broke (reset, terminated) proves nothing: it may be one Postgres or the network dropped
      // earlier, and the pool replaces it; the new connection shows whether Postgres is there.
      else if (error instanceof Error && isInfrastructureError(error))
        probeUntil = 0; // the next caller tries
      else if (error !== true) answered();
      return release(error);
    };
    return client;
  };

  const connect = pool.connect.bind(pool) as (callback?: ConnectCallback) => Promise<pg.PoolClient> | undefined;
  (pool as unknown as { connect: (callback?: ConnectCallback) => unknown }).connect = (callback?: ConnectCallback) => {
    if (refuse()) {
      const error = new UnreachableError("Postgres is unreachable (failing fast until it answers again)");
      if (!callback) return Promise.reject(error);
      process.nextTick(() => callback(error));
      return undefined;
    }
    const failed = (error: unknown) => {
      if (isInfrastructureError(error)) unreachable();
    };
    if (!callback) {
      return (connect() as Promise<pg.PoolClient>).then(watched, (error: unknown) => {
        failed(error);
        throw error;
      });
    }
    connect((error, client, done) => {
      if (error) failed(error);
      callback(error, client ? watched(client) : client, done);
    });
    return undefined;
  };
  return { reachable: () => unreachableUntil === 0 };
}
