import {
  decodeStreamEntry,
  EVENT_TYPES,
  eventKeys,
  generateEndpointSecret,
  SEAL_PURPOSES,
  sealJobSecret,
  webhookDeliveryJob,
  webhookLaneKey,
} from "@kronos/shared";
import { deleteRedisPrefix, waitFor } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endpointSlotsKey } from "./endpoint-slots.js";
import { postWebhook } from "./post-webhook.js";
import { DeliveriesHarness, Receiver, verified } from "./test-support.js";

const h = new DeliveriesHarness();
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  await h.start();
});
afterAll(async () => {
  await h.stop();
  await receiver.stop();
});

const statusOf = async (endpointId: string) => (await h.deliveriesOf(endpointId)).map((d) => d.status);

describe("outbound webhooks", () => {
  it("delivers an event, signed as Standard Webhooks verify it, with the event id as webhook-id", async () => {
    const { id, secret } = await h.endpoint(`${receiver.url}/signed`);
    const event = await h.publish(EVENT_TYPES.bulkCompleted, { bulk_id: "b1" });
    const [hit] = await waitFor(() => receiver.at("/signed").length > 0 && receiver.at("/signed"), { what: "the delivery" });
    expect(verified(secret, hit!)).toEqual({ type: event.type, id: event.id, ts: event.ts, data: { bulk_id: "b1" } });
    expect(hit!.headers["webhook-id"]).toBe(event.id);
    expect(() => verified(generateEndpointSecret(), hit!)).toThrow();
    const [row] = await waitFor(async () => {
      const rows = await h.deliveriesOf(id);
      return rows[0]?.status === "SUCCEEDED" && rows;
    });
    expect(row).toMatchObject({ attempts: 1, lastStatusCode: 204, eventId: event.id, nextAttemptAt: null });
  });

  it("records a burst of events together and delivers each once", async () => {
    const { id, secret } = await h.endpoint(`${receiver.url}/burst`, { events: [EVENT_TYPES.executionCompleted] });
    // Published at once: the outbox writes them in a few shared statements and pushes them on the lane together.
    const events = await Promise.all(Array.from({ length: 60 }, (_, i) => h.publish(EVENT_TYPES.executionCompleted, { i })));
    await waitFor(async () => (await statusOf(id)).filter((s) => s === "SUCCEEDED").length === 60, { what: "every delivery" });
    // At least once: on a busy machine the sweeper may send one again (same webhook-id), never one less.
    const delivered = new Set(receiver.at("/burst").map((hit) => verified(secret, hit).id));
    expect(delivered).toEqual(new Set(events.map((e) => e.id)));
  });

  it("sends only the event types an endpoint asked for", async () => {
    const { id } = await h.endpoint(`${receiver.url}/filtered`, { events: [EVENT_TYPES.executionCompleted] });
    await h.publish(EVENT_TYPES.connectionStatus, { n: 1 });
    const wanted = await h.publish(EVENT_TYPES.executionCompleted, { n: 2 });
    await waitFor(() => receiver.at("/filtered").length > 0);
    const rows = await h.deliveriesOf(id);
    expect(rows.map((r) => r.eventId)).toEqual([wanted.id]);
  });

  it("retries 5xx on the schedule, with the same webhook-id, until a 2xx", async () => {
    let calls = 0;
    receiver.on("/flaky", (_hit, response) => {
      calls += 1;
      response.writeHead(calls < 3 ? 503 : 200).end("ok");
    });
    const { id, secret } = await h.endpoint(`${receiver.url}/flaky`);
    const event = await h.publish(EVENT_TYPES.bulkCompleted, { bulk_id: "flaky" });
    const rows = await waitFor(async () => {
      const found = await h.deliveriesOf(id);
      return found[0]?.status === "SUCCEEDED" && found;
    });
    expect(rows[0]).toMatchObject({ attempts: 3, lastStatusCode: 200 });
    const hits = receiver.at("/flaky");
    expect(hits.map((hit) => hit.headers["webhook-id"])).toEqual([event.id, event.id, event.id]);
    for (const hit of hits) expect(verified(secret, hit).id).toBe(event.id);
    // Backoff: each retry waited at least its (jittered, -10%) delay of the schedule 0,100,200.
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(90);
    expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(180);
  });

  it("waits for Retry-After on a 429", async () => {
    let calls = 0;
    receiver.on("/limited", (_hit, response) => {
      calls += 1;
      if (calls === 1) response.writeHead(429, { "retry-after": "1" }).end();
      else response.writeHead(200).end();
    });
    const { id } = await h.endpoint(`${receiver.url}/limited`);
    await h.publish(EVENT_TYPES.bulkCompleted, {});
    await waitFor(async () => (await statusOf(id))[0] === "SUCCEEDED");
    const hits = receiver.at("/limited");
    expect(hits).toHaveLength(2);
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(1_000);
  });

  it("gives up at once on another 4xx, and after the schedule on 5xx", async () => {
    receiver.on("/bad", (_hit, response) => response.writeHead(400).end("no"));
    receiver.on("/down", (_hit, response) => response.writeHead(500).end());
    const bad = await h.endpoint(`${receiver.url}/bad`);
    const down = await h.endpoint(`${receiver.url}/down`);
    await h.publish(EVENT_TYPES.bulkCompleted, {});
    await waitFor(async () => (await statusOf(bad.id))[0] === "FAILED" && (await statusOf(down.id))[0] === "FAILED", {
      what: "both to give up",
    });
    expect((await h.deliveriesOf(bad.id))[0]).toMatchObject({ attempts: 1, lastStatusCode: 400, lastError: "HTTP 400" });
    // The schedule 0,100,200,300: four attempts in all.
    expect((await h.deliveriesOf(down.id))[0]).toMatchObject({ attempts: 4, lastStatusCode: 500 });
  });

  it("disables an endpoint that answers 410 and publishes endpoint.disabled", async () => {
    receiver.on("/gone", (_hit, response) => response.writeHead(410).end());
    const { id } = await h.endpoint(`${receiver.url}/gone`, { events: [EVENT_TYPES.bulkCompleted] });
    const watcher = await h.endpoint(`${receiver.url}/watcher`, { events: [EVENT_TYPES.endpointDisabled] });
    await h.publish(EVENT_TYPES.bulkCompleted, {});
    const hit = await waitFor(() => receiver.at("/watcher")[0], { what: "endpoint.disabled at the other endpoint" });
    const event = verified(watcher.secret, hit);
    expect(event).toMatchObject({ type: "endpoint.disabled", data: { endpoint_id: id, reason: "gone" } });
    const endpoint = await h.database.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } });
    expect(endpoint).toMatchObject({ enabled: false });
    expect((await h.deliveriesOf(id))[0]).toMatchObject({ status: "FAILED", attempts: 1, lastStatusCode: 410 });
  });

  it("disables an endpoint that has failed with no success for WEBHOOK_DISABLE_AFTER_HOURS", async () => {
    receiver.on("/failing", (_hit, response) => response.writeHead(502).end());
    const { id } = await h.endpoint(`${receiver.url}/failing`, { events: [EVENT_TYPES.bulkCompleted] });
    // Failing since long before the limit (120 h by default).
    await h.database.prisma.webhookEndpoint.update({ where: { id }, data: { failingSince: new Date(Date.now() - 121 * 3_600_000) } });
    await h.publish(EVENT_TYPES.bulkCompleted, {});
    const endpoint = await waitFor(async () => {
      const row = await h.database.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } });
      return !row.enabled && row;
    });
    expect(endpoint.disabledReason).toMatch(/No successful delivery/);
    const stream = await h.redis.xrange(eventKeys(h.config.REDIS_KEY_PREFIX).stream(h.tenantId), "-", "+");
    const disabled = stream
      .map(([eventId, fields]) => decodeStreamEntry(eventId, fields[1]!))
      .filter((e) => e?.event.type === "endpoint.disabled");
    expect(disabled.map((e) => e?.event.data)).toContainEqual(expect.objectContaining({ endpoint_id: id, reason: "failing" }));
    // Its pending retry is not attempted against a disabled endpoint.
    await waitFor(async () => (await statusOf(id))[0] === "FAILED");
  });

  it("signs with both secrets during a rotation's grace period", async () => {
    const previous = generateEndpointSecret();
    const { secret } = await h.endpoint(`${receiver.url}/rotating`, { previousSecret: previous });
    await h.publish(EVENT_TYPES.bulkCompleted, { rotating: true });
    const hit = await waitFor(() => receiver.at("/rotating")[0]);
    expect(String(hit.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verified(secret, hit).data).toEqual({ rotating: true });
    expect(verified(previous, hit).data).toEqual({ rotating: true });
  });

  it("signs with an endpoint's new secret as soon as it is rotated (the lane reads a changed endpoint again)", async () => {
    const { id, secret: first } = await h.endpoint(`${receiver.url}/rotated`, { events: [EVENT_TYPES.bulkCompleted] });
    await h.publish(EVENT_TYPES.bulkCompleted, { n: 1 });
    await waitFor(() => receiver.at("/rotated").length === 1, { what: "the first delivery" });
    // Rotated as the API does it: the new secret signs, the previous one too during its grace period.
    const second = generateEndpointSecret();
    const key = h.config.WEBHOOK_SECRETS_KEY ?? h.config.SESSION_SECRET;
    await h.database.prisma.webhookEndpoint.update({
      where: { id },
      data: {
        sealedSecret: sealJobSecret(second, key, SEAL_PURPOSES.webhookEndpointSecrets),
        previousSealedSecret: sealJobSecret(first, key, SEAL_PURPOSES.webhookEndpointSecrets),
        previousSecretExpiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    await h.publish(EVENT_TYPES.bulkCompleted, { n: 2 });
    const hit = await waitFor(() => receiver.at("/rotated")[1], { what: "the second delivery" });
    expect(verified(second, hit).data).toEqual({ n: 2 });
    expect(verified(first, hit).data).toEqual({ n: 2 });
  });

  it("keeps delivering to other endpoints while one hangs", async () => {
    const held: Array<() => void> = [];
    let open = 0;
    let mostOpen = 0;
    receiver.on("/slow", (_hit, response) => {
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      response.on("close", () => {
        open -= 1;
      });
      held.push(() => response.writeHead(200).end());
    });
    const slow = await h.endpoint(`${receiver.url}/slow`, { events: [EVENT_TYPES.executionCompleted] });
    const fast = await h.endpoint(`${receiver.url}/fast`, { events: [EVENT_TYPES.executionCompleted] });
    // More events than the worker has slots (20): the slow endpoint holds at most 4 in flight (and 4 waiting).
    for (let i = 0; i < 40; i += 1) await h.publish(EVENT_TYPES.executionCompleted, { i });
    await waitFor(() => receiver.at("/fast").length >= 40, { what: "every event at the fast endpoint", timeoutMs: 20_000 });
    expect((await statusOf(slow.id)).filter((s) => s === "SUCCEEDED")).toHaveLength(0);
    expect(mostOpen).toBeLessThanOrEqual(4);
    expect(new Set(receiver.at("/fast").map((hit) => hit.headers["webhook-id"])).size).toBe(40);
    receiver.on("/slow", (_hit, response) => response.writeHead(200).end());
    for (const release of held) release();
    await waitFor(async () => (await statusOf(slow.id)).every((s) => s === "SUCCEEDED"), { timeoutMs: 30_000 });
    expect(await statusOf(fast.id)).toEqual(Array(40).fill("SUCCEEDED"));
  });

  it("loses nothing when the worker dies mid-delivery: the sweeper hands its row to another", async () => {
    const { id } = await h.endpoint(`${receiver.url}/takeover`, { events: [EVENT_TYPES.triggerMessage] });
    // This worker "dies" inside its attempt (taken from the lane): its POST never ends, and it is abandoned.
    await h.worker.close();
    let started = 0;
    const dying = h.startWorker({
      post: () => {
        started += 1;
        return new Promise(() => {});
      },
    });
    await h.publish(EVENT_TYPES.triggerMessage, { n: 1 });
    await waitFor(() => started > 0, { what: "the attempt to start" });
    await dying.close(true);
    h.startWorker();
    await waitFor(async () => (await statusOf(id))[0] === "SUCCEEDED", { what: "the takeover", timeoutMs: 20_000 });
    expect(new Set(receiver.at("/takeover").map((hit) => hit.headers["webhook-id"])).size).toBe(1);
  });

  it("loses nothing when the worker dies in a retry: another takes the job over", async () => {
    let calls = 0;
    receiver.on("/retry-takeover", (_hit, response) => {
      calls += 1;
      response.writeHead(calls === 1 ? 503 : 204).end();
    });
    const { id } = await h.endpoint(`${receiver.url}/retry-takeover`, { events: [EVENT_TYPES.triggerMessage] });
    await h.worker.close();
    // The first attempt (the lane's) gets a 503; the retry is a BullMQ job, whose attempt never ends.
    let hung = 0;
    const dying = h.startWorker({
      post: async (...args) => {
        if (calls === 0) return postWebhook(...args);
        hung += 1;
        return new Promise(() => {});
      },
    });
    await h.publish(EVENT_TYPES.triggerMessage, { n: 2 });
    await waitFor(() => hung > 0, { what: "the retry to start" });
    // Closed without waiting for its job: it renews no lock, as if its process had been killed.
    await dying.close(true);
    h.startWorker();
    await waitFor(async () => (await statusOf(id))[0] === "SUCCEEDED", { what: "the takeover", timeoutMs: 20_000 });
    expect((await h.deliveriesOf(id))[0]).toMatchObject({ attempts: 2, lastStatusCode: 204 });
  });

  it("loses nothing when Redis loses every job: the sweeper re-enqueues from the outbox rows", async () => {
    const { id } = await h.endpoint(`${receiver.url}/swept`, { events: [EVENT_TYPES.connectionStatus] });
    await h.worker.close();
    // Events accepted while no worker runs: their rows are written, their jobs wait in Redis...
    const events = [];
    for (let i = 0; i < 5; i += 1) events.push(await h.publish(EVENT_TYPES.connectionStatus, { i }));
    expect(await statusOf(id)).toEqual(Array(5).fill("PENDING"));
    // ...and are lost with everything under the prefix (a Redis restart without persistence).
    await deleteRedisPrefix(h.redis, h.config.REDIS_KEY_PREFIX);
    h.startWorker();
    await waitFor(async () => (await statusOf(id)).every((s) => s === "SUCCEEDED"), { what: "the sweeper", timeoutMs: 20_000 });
    expect(new Set(receiver.at("/swept").map((hit) => hit.headers["webhook-id"]))).toEqual(new Set(events.map((e) => e.id)));
  });

  it("recovers a job half lost: its record kept, but in no list", async () => {
    const { id } = await h.endpoint(`${receiver.url}/orphan`, { events: [EVENT_TYPES.bulkCompleted] });
    await h.worker.close();
    const event = await h.publish(EVENT_TYPES.bulkCompleted, { orphan: true });
    const [delivery] = await h.deliveriesOf(id);
    // Its lane entry gone, its job queued as the API's retry queues it, then half lost.
    await h.redis.del(webhookLaneKey(h.config.REDIS_KEY_PREFIX));
    const { name, data, opts } = webhookDeliveryJob({ id: delivery!.id, endpointId: id });
    await h.queue.add(name, data, opts);
    expect(await h.queue.getJobState(delivery!.id)).toBe("waiting");
    await h.redis.del(`${h.config.REDIS_KEY_PREFIX}:webhook-delivery:wait`);
    expect(await h.queue.getJobState(delivery!.id)).toBe("unknown");
    h.startWorker();
    await waitFor(async () => (await statusOf(id))[0] === "SUCCEEDED", { what: "the sweeper", timeoutMs: 20_000 });
    expect(receiver.at("/orphan").map((hit) => hit.headers["webhook-id"])).toEqual([event.id]);
  });

  it("holds an endpoint's bound across two worker processes", async () => {
    const held: Array<() => void> = [];
    let open = 0;
    let mostOpen = 0;
    receiver.on("/shared-slow", (_hit, response) => {
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      response.on("close", () => {
        open -= 1;
      });
      held.push(() => response.writeHead(204).end());
    });
    const slow = await h.endpoint(`${receiver.url}/shared-slow`, { events: [EVENT_TYPES.executionCompleted] });
    const first = h.worker;
    const second = h.startWorker();
    try {
      for (let i = 0; i < 16; i += 1) await h.publish(EVENT_TYPES.executionCompleted, { i });
      // Both processes pop the lane; together they hold WEBHOOK_ENDPOINT_CONCURRENCY (4) attempts, not 4 each.
      await waitFor(() => open >= 4, { what: "the endpoint's slots to fill" });
      await waitFor(async () => (await h.redis.zcard(endpointSlotsKey(h.config.REDIS_KEY_PREFIX, slow.id))) === 4);
      expect(mostOpen).toBe(4);
      receiver.on("/shared-slow", (_hit, response) => response.writeHead(204).end());
      for (const release of held.splice(0)) release();
      await waitFor(async () => (await statusOf(slow.id)).every((s) => s === "SUCCEEDED"), { timeoutMs: 30_000 });
      expect(mostOpen).toBe(4);
    } finally {
      await second.close();
      h.worker = first;
    }
  });
});
