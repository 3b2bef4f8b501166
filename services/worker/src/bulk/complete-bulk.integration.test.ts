import { type BulkCompletedEventData, type CompleteBulkJob, type ConnectionOpJob, EVENT_TYPES, JOBS, QUEUES } from "@kronos/shared";
import { createTestTenant, testRedis } from "@kronos/testing";
import { FlowProducer } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { WorkerHarness } from "../test-support/harness.js";
import { bulkResults } from "./complete-bulk.js";

const fake = new FakeComposio();
const h = new WorkerHarness();
let flows: FlowProducer;

beforeAll(async () => {
  await h.start(fake);
  flows = new FlowProducer({ connection: testRedis(h.config), prefix: h.config.REDIS_KEY_PREFIX });
});
afterAll(async () => {
  await flows?.close();
  await h.stop();
});

describe("bulk parent job", () => {
  it("reports per-item results in request order, with the failed item's reason, and publishes bulk.completed", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const other = await createTestTenant(h.prisma);
    const rows = [];
    for (const owner of [tenantId, other.tenantId, tenantId]) {
      const account = fake.addAccount({ userId: `${owner}:alice` });
      rows.push(await h.connection({ tenantId: owner, status: "ACTIVE", composioAccountId: account.id }));
    }
    const bulkId = crypto.randomUUID();
    const items = rows.map((row, i) => ({ queue: QUEUES.connectionOps, jobId: `${bulkId}-${i}`, connectionId: row.id }));
    const data: CompleteBulkJob = { bulkId, tenantId, userId: "alice", kind: "disable", items, rejected: [] };
    await h.prisma.bulkOperation.create({ data: { id: bulkId, tenantId, userId: "alice", kind: "disable", itemCount: 3 } });
    await flows.add({
      name: JOBS.completeBulk,
      queueName: QUEUES.bulk,
      data,
      opts: { jobId: bulkId, removeOnComplete: false },
      // The second item names another tenant's connection: it fails (NOT_FOUND) without blocking the parent.
      children: items.map((item) => ({
        name: JOBS.connectionOp,
        queueName: item.queue,
        data: { tenantId, connectionId: item.connectionId, op: "disable", actor: "api_key:test" } satisfies ConnectionOpJob,
        opts: { jobId: item.jobId, ignoreDependencyOnFailure: true, attempts: 1 },
      })),
    });
    const parent = await h.finished(h.workers.queues.bulk, bulkId);
    expect(parent.failedReason).toBeUndefined();
    const expected: BulkCompletedEventData = {
      bulk_id: bulkId,
      kind: "disable",
      succeeded: 2,
      failed: 1,
      results: [
        { index: 0, ok: true, connection_id: rows[0]!.id, status: "INACTIVE", error: null },
        {
          index: 1,
          ok: false,
          connection_id: rows[1]!.id,
          status: null,
          error: { code: "NOT_FOUND", message: `Connection "${rows[1]!.id}" not found` },
        },
        { index: 2, ok: true, connection_id: rows[2]!.id, status: "INACTIVE", error: null },
      ],
    };
    expect(parent.returnvalue).toEqual(expected);
    const stored = await h.prisma.bulkOperation.findUniqueOrThrow({ where: { id: bulkId } });
    expect(stored.results).toEqual(expected.results);
    expect(stored.completedAt).not.toBeNull();
    const event = await h.waitForEvent<BulkCompletedEventData>(EVENT_TYPES.bulkCompleted, (d) => d.bulk_id === bulkId);
    expect(event).toMatchObject({ tenantId, userId: "alice", data: expected });
    // The other tenant's connection was not touched.
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: rows[1]!.id } })).status).toBe("ACTIVE");
  });

  it("matches children by queue and job id whatever the key prefix, and reports a missing child", () => {
    const items = [
      { queue: "connection", jobId: "a", connectionId: null },
      { queue: "connection", jobId: "b", connectionId: "c-b" },
      { queue: "connection", jobId: "c", connectionId: "c-c" },
    ];
    const results = bulkResults(items, {
      values: { "p:connection:a": { connection_id: "c-a", status: "INITIATED" } },
      failures: { "p:connection:b": JSON.stringify({ code: "BAD_REQUEST", message: "no" }) },
    });
    expect(results.map((r) => [r.ok, r.connection_id, r.status, r.error?.code ?? null])).toEqual([
      [true, "c-a", "INITIATED", null],
      [false, "c-b", null, "BAD_REQUEST"],
      [false, "c-c", null, "INTERNAL"],
    ]);
  });
});
