// What several scenarios share: the tool-execution request, the queue's keys, RSS in MB.

import { QUEUES } from "@kronos/shared";
import pg from "pg";
import { type BenchSettings, deleteKeys } from "../lib/system.ts";

export const TOOL = "GITHUB_GET_THE_AUTHENTICATED_USER";
export const BENCH_USER = "bench-user";
export const executeBody = (userId = BENCH_USER) => JSON.stringify({ user_id: userId, action_name: TOOL, params: {} });
export const EXECUTE_PATH = "/api/v1/composio/tools/execute";

/**
 * Empties the tool-execution queue of a prefix (jobs accepted by a previous round), and their accepted-job records:
 * left in Postgres, the worker's sweeper would take them for jobs Redis lost and add them all again when it starts.
 */
export async function clearToolQueue(settings: BenchSettings, prefix: string): Promise<void> {
  await deleteKeys(settings.redisUrl, `${prefix}:${QUEUES.toolExecution}`);
  const client = new pg.Client({ connectionString: settings.databaseUrl });
  await client.connect();
  try {
    await client.query("DELETE FROM accepted_jobs WHERE key_prefix = $1 AND queue = $2", [prefix, QUEUES.toolExecution]);
  } finally {
    await client.end();
  }
}

export const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/**
 * Composio budget for the throughput scenarios: the default 1,800/min would cap the worker at 30 executions/s (its
 * BullMQ limiter and the shared budget), which measures the budget, not the pipeline. P6 measures the budget.
 */
export const THROUGHPUT_ENV = { COMPOSIO_REQUESTS_PER_MINUTE: "1000000" };
