import { createMetricsRegistry, JOBS, METRIC_NAMES, QUEUES } from "@kronos/shared";
import { TEST_ADMIN_TOKEN } from "@kronos/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHealthServer } from "./health.js";
import { FakeComposio } from "./test-support/fake-composio.js";
import { WorkerHarness } from "./test-support/harness.js";

const h = new WorkerHarness();
const registry = createMetricsRegistry("worker");
let app: FastifyInstance;

beforeAll(async () => {
  await h.start(new FakeComposio(), { metrics: registry });
  app = buildHealthServer({ metrics: { registry, adminToken: h.config.ADMIN_TOKEN } });
});
afterAll(async () => {
  await app?.close();
  await h.stop();
});

/** The value of the sample of `name` whose labels include `labels` (and service="worker"), or undefined. */
function metric(body: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries({ ...labels, service: "worker" }).map(([k, v]) => `${k}="${v}"`);
  for (const line of body.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf("}"));
    const have = labelText.split(",");
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("GET /metrics", () => {
  it("needs the admin token", async () => {
    expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
    const wrong = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: "Bearer not-the-admin-token" } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: { code: "UNAUTHENTICATED", message: "GET /metrics needs the admin token" } });
    expect(wrong.body).not.toContain(TEST_ADMIN_TOKEN);
  });

  it("serves job durations, outcomes and queue depths in Prometheus format", async () => {
    // One job that completes and one that fails (no such webhook event).
    const done = await h.run(h.workers.queues.webhookEvent, JOBS.processWebhookEvent, { webhookId: "nope" }, { attempts: 1 });
    expect(done.failedReason).toBeDefined();
    const response = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/plain");
    const body = response.body;
    expect(metric(body, `${METRIC_NAMES.jobDuration}_count`, { queue: QUEUES.webhookEvent, name: JOBS.processWebhookEvent })).toBe(1);
    expect(metric(body, METRIC_NAMES.jobsFinished, { queue: QUEUES.webhookEvent, outcome: "failed" })).toBe(1);
    for (const queue of Object.values(QUEUES)) expect(metric(body, METRIC_NAMES.queueJobs, { queue, state: "waiting" })).toBe(0);
    expect(metric(body, METRIC_NAMES.queueJobs, { queue: QUEUES.webhookEvent, state: "failed" })).toBe(1);
    expect(body).toContain("process_cpu_user_seconds_total");
  });
});
