// Status polling does not eat the Composio budget (issue 11.7): many pending connections poll within their share
// (STATUS_POLL_BUDGET_SHARE of COMPOSIO_REQUESTS_PER_MINUTE, a limiter every worker shares), and executions queued
// meanwhile run at once.
import { composioUserId, type ExecuteToolJob, JOBS } from "@kronos/shared";
import { waitFor } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";

const BUDGET_PER_MINUTE = 60;
const POLL_SHARE = 0.1;
/** What the polls may use of the budget in any minute. */
const POLL_MAX_PER_MINUTE = Math.floor(BUDGET_PER_MINUTE * POLL_SHARE);
const PENDING_CONNECTIONS = 30;

const suite = workerOnEmulator({
  config: {
    COMPOSIO_REQUESTS_PER_MINUTE: String(BUDGET_PER_MINUTE),
    STATUS_POLL_BUDGET_SHARE: String(POLL_SHARE),
    // Left alone, each pending connection would be read again every 50 ms.
    STATUS_POLL_INITIAL_DELAY_MS: "1",
    STATUS_POLL_MAX_DELAY_MS: "50",
  },
});
const h = suite.harness;

interface LoggedRequest {
  method: string;
  route: string;
  time: string;
}
async function requests(): Promise<LoggedRequest[]> {
  return (await suite.control<{ items: LoggedRequest[] }>("GET", "/requests")).items;
}
/** Reads of one connected account: what a status poll costs at Composio. */
const isPoll = (r: LoggedRequest) => r.method === "GET" && /^\/connected_accounts\/[^/]+$/.test(r.route);

describe("status polls and the Composio budget", () => {
  it(`${PENDING_CONNECTIONS} pending connections poll within their share of the budget, and executions run meanwhile`, async () => {
    // One user signed in (for the executions), and many who opened a link and never finished.
    const { tenantId, authConfigId } = await suite.connectedUser();
    const pending = [];
    for (let i = 0; i < PENDING_CONNECTIONS; i++) {
      const link = await suite.composio.createConnectLink({ authConfigId, userId: composioUserId(tenantId, `user-${i}`) });
      pending.push(
        await h.connection({
          tenantId,
          userId: `user-${i}`,
          status: "INITIATED",
          composioAccountId: link.connectedAccountId,
          expiresAt: new Date(Date.now() + 3_600_000),
        }),
      );
    }
    await suite.control("DELETE", "/requests");

    for (const connection of pending) await h.workers.context.enqueueStatusPoll({ connectionId: connection.id, tenantId });
    const queue = h.workers.queues.toolExecution;
    const executions: ExecuteToolJob[] = Array.from({ length: 10 }, (_, i) =>
      executionJob(tenantId, { arguments: { owner: "acme", repo: "app", title: `while polling ${i}` } }),
    );
    for (const data of executions) await queue.add(JOBS.executeTool, data, { jobId: data.executionId });
    for (const data of executions) {
      const done = await h.finished(queue, data.executionId);
      expect(done.returnvalue).toMatchObject({ status: "SUCCEEDED" });
    }
    // The polls run (left alone, 30 connections read every 50 ms would make hundreds of calls by now)...
    await waitFor(async () => ((await requests()).some(isPoll) ? true : undefined), { timeoutMs: 30_000, what: "a status poll" });
    // ...within their share, in the minute that followed the first (whatever the speed of this machine).
    const polls = (await requests()).filter(isPoll).map((r) => Date.parse(r.time));
    const first = Math.min(...polls);
    expect(polls.filter((at) => at < first + 60_000).length).toBeLessThanOrEqual(POLL_MAX_PER_MINUTE);
    // Every execution reached Composio, none waiting behind the polls.
    const runs = (await requests()).filter((r) => r.method === "POST" && r.route.startsWith("/tools/execute/"));
    expect(runs).toHaveLength(executions.length);
    // Generous: 40 links made one by one, ten executions and a minute's share of polls, on a machine that may be busy.
  }, 120_000);
});
