// Events follow the state (issue 11.2): an execution whose final status was written always gets its
// execution.completed, once, even when Postgres's answer to the write was lost (the write committed; the retry finds
// the row final) or the writer died between the write and the event.
import { prismaSql, recordAcceptedJob, type Sql } from "@kronos/db";
import { EVENT_TYPES, type ExecutionCompletedEventData, JOBS, QUEUES } from "@kronos/shared";
import { waitFor } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { sweepDeps } from "../sweeper/jobs.js";
import { sweepAcceptedRecords } from "../sweeper/sweep.js";
import { executionJob, workerOnEmulator } from "../test-support/on-emulator.js";
import { executeTool } from "./execute-tool.js";

const suite = workerOnEmulator();
const h = suite.harness;

const job = (tenantId: string) =>
  executionJob(tenantId, { arguments: { owner: "acme", repo: "app", title: `events ${crypto.randomUUID()}` } });
const completions = (executionId: string) =>
  h.eventsOf<ExecutionCompletedEventData>(EVENT_TYPES.executionCompleted, (d) => d.execution_id === executionId);

/** The real statements, except that Postgres's answer to the first write of an outcome is lost after it committed. */
function losingTheFirstOutcomeAnswer(sql: Sql): Sql {
  let lost = false;
  const loseOnce = <T>(statement: { name?: string }, answer: T): T => {
    if (statement.name === "execution-record-outcome" && !lost) {
      lost = true;
      throw new Error("Query read timeout");
    }
    return answer;
  };
  return {
    rows: async (statement) => loseOnce(statement, await sql.rows(statement)),
    count: async (statement) => loseOnce(statement, await sql.count(statement)),
  };
}

describe("execution.completed follows the final status", () => {
  it("when Postgres's answer to the outcome's write was lost (it committed): the retry publishes it, once", async () => {
    const data = job((await suite.connectedUser()).tenantId);
    const sql = losingTheFirstOutcomeAnswer(prismaSql(h.prisma));
    const result = await executeTool({ ...h.workers.context, sql, logger: h.logger }, data);
    expect(result).toEqual({ execution_id: data.executionId, status: "SUCCEEDED" });
    await waitFor(() => completions(data.executionId).length > 0, { what: "execution.completed" });
    expect(completions(data.executionId)).toHaveLength(1);
    expect(completions(data.executionId)[0]?.data).toMatchObject({ status: "SUCCEEDED", log_id: expect.any(String) });
    await waitFor(async () => (await h.prisma.execution.findUniqueOrThrow({ where: { id: data.executionId } })).completionPublishedAt, {
      what: "the note that execution.completed was published",
    });
  });

  it("when its writer died between the write and the event: the sweeper publishes it, once", async () => {
    const { tenantId } = await suite.connectedUser();
    const data = job(tenantId);
    const endedAt = new Date(Date.now() - 60_000);
    await h.prisma.execution.create({
      data: {
        id: data.executionId,
        tenantId,
        userId: "alice",
        toolSlug: data.toolSlug,
        arguments: data.arguments as object,
        status: "SUCCEEDED",
        logId: "log_died_before_the_event",
        completedAt: endedAt,
      },
    });
    const record = {
      queue: QUEUES.toolExecution,
      name: JOBS.executeTool,
      jobId: data.executionId,
      tenantId,
      data,
      opts: { jobId: data.executionId },
    };
    await recordAcceptedJob(h.prisma, h.config.REDIS_KEY_PREFIX, record);
    await h.prisma.acceptedJob.updateMany({ where: { jobId: data.executionId }, data: { createdAt: endedAt } });

    const sweep = () => sweepAcceptedRecords(sweepDeps(h.workers.context, h.logger));
    await sweep();
    await sweep();
    await waitFor(() => completions(data.executionId).length > 0, { what: "execution.completed" });
    expect(completions(data.executionId)).toHaveLength(1);
    expect(completions(data.executionId)[0]?.data).toMatchObject({ status: "SUCCEEDED", log_id: "log_died_before_the_event" });
    expect(await h.prisma.acceptedJob.findFirst({ where: { jobId: data.executionId } })).toMatchObject({ finishedAt: expect.any(Date) });
  });
});
