import type { AddressInfo } from "node:net";
import { createTestTenant, TEST_ADMIN_TOKEN } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type Harness, startHarness } from "../../test/harness.js";
import { sweepAuditLogs, sweepVerificationCodes, VERIFICATION_CODES_KEPT_MS } from "../lib/retention.js";
import { EXPORT_BATCH } from "../use-cases/read-audit-logs.js";

let h: Harness;
let acme: { tenantId: string; apiKey: string };
let other: { tenantId: string; apiKey: string };
const DAY = 86_400_000;
const BULK = EXPORT_BATCH * 2 + 37;

beforeAll(async () => {
  h = await startHarness({ AUDIT_EXPORT_MAX_DAYS: "10" });
  acme = await createTestTenant(h.prisma, "acme audit");
  other = await createTestTenant(h.prisma, "other audit");
  h.secrets.push(acme.apiKey, other.apiKey);
  const now = Date.now();
  await h.prisma.auditLog.createMany({
    data: [
      {
        tenantId: acme.tenantId,
        actor: "user:alice",
        action: "connection.created",
        targetType: "connection",
        targetId: "c1",
        data: { user_id: "alice" },
        createdAt: new Date(now - 3 * DAY),
      },
      {
        tenantId: acme.tenantId,
        actor: "worker",
        action: "connection.status_changed",
        targetType: "connection",
        targetId: "c1",
        data: { user_id: "alice", status: "ACTIVE" },
        createdAt: new Date(now - 2 * DAY),
      },
      {
        tenantId: acme.tenantId,
        actor: "api_key:k1",
        action: "auth_config.created",
        targetType: "auth_config",
        targetId: "ac_1",
        data: {},
        createdAt: new Date(now - DAY),
      },
      {
        tenantId: other.tenantId,
        actor: "user:alice",
        action: "connection.created",
        targetType: "connection",
        targetId: "c9",
        data: { user_id: "alice" },
        createdAt: new Date(now - DAY),
      },
    ],
  });
});
afterAll(async () => {
  await h.prisma.auditLog.deleteMany({ where: { tenantId: { in: [acme.tenantId, other.tenantId] } } });
  await h.prisma.tenant.deleteMany({ where: { id: { in: [acme.tenantId, other.tenantId] } } });
  await h.close();
});

const list = (query: string, key = acme.apiKey) => h.inject({ method: "GET", url: `/api/v1/audit-logs${query}`, headers: bearer(key) });

describe("GET /api/v1/audit-logs", () => {
  it("lists the tenant's records newest first, with filters", async () => {
    const all = (await list("")).json().items as Array<{ action: string; resource_id: string }>;
    expect(all.map((item) => item.action)).toEqual(["auth_config.created", "connection.status_changed", "connection.created"]);
    expect(all.some((item) => item.resource_id === "c9")).toBe(false);
    const byUser = (await list("?user_id=alice")).json().items;
    expect(byUser.map((item: { action: string }) => item.action)).toEqual(["connection.status_changed", "connection.created"]);
    expect((await list("?actor=worker")).json().items).toHaveLength(1);
    expect((await list("?action=auth_config.created")).json().items[0]).toMatchObject({
      actor: "api_key:k1",
      resource_type: "auth_config",
      resource_id: "ac_1",
    });
    expect((await list("?resource_type=connection&resource_id=c1")).json().items).toHaveLength(2);
    const from = new Date(Date.now() - 2.5 * DAY).toISOString();
    const to = new Date(Date.now() - 1.5 * DAY).toISOString();
    expect((await list(`?from=${from}&to=${to}`)).json().items.map((item: { action: string }) => item.action)).toEqual([
      "connection.status_changed",
    ]);
  });

  it("pages with a cursor", async () => {
    const first = (await list("?resource_type=connection&limit=1")).json();
    expect(first.items).toHaveLength(1);
    const second = (await list(`?resource_type=connection&limit=1&cursor=${first.next_cursor}`)).json();
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect(second.next_cursor).toBeNull();
  });

  it("answers 400 for bad filters, and needs the audit_logs scope", async () => {
    for (const query of [
      "?from=yesterday",
      "?cursor=nope",
      "?limit=0",
      "?colour=red",
      "?action=connection.exploded",
      `?from=${new Date().toISOString()}&to=${new Date(Date.now() - DAY).toISOString()}`,
    ]) {
      expect((await list(query)).statusCode, query).toBe(400);
    }
    const user = await h.inject({ method: "GET", url: "/api/v1/audit-logs", headers: bearer(TEST_ADMIN_TOKEN) });
    expect(user.statusCode).toBe(403);
  });
});

describe("GET /api/v1/audit-logs/export", () => {
  it("streams NDJSON over a real socket, newest first, in several batches", async () => {
    const base = Date.now() - DAY / 2;
    await h.prisma.auditLog.createMany({
      data: Array.from({ length: BULK }, (_, i) => ({
        tenantId: acme.tenantId,
        actor: "worker",
        action: "trigger.updated",
        targetType: "connection",
        targetId: `b${i}`,
        createdAt: new Date(base + i),
      })),
    });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = h.app.server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/audit-logs/export?action=trigger.updated`, {
      headers: bearer(acme.apiKey),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    const lines = (await response.text())
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(BULK);
    expect(lines[0].resource_id).toBe(`b${BULK - 1}`);
    expect(lines.at(-1).resource_id).toBe("b0");
    expect(new Set(lines.map((line) => line.id)).size).toBe(BULK);
  });

  it("refuses a range wider than AUDIT_EXPORT_MAX_DAYS with 400, and is tenant-scoped", async () => {
    const wide = await h.inject({
      method: "GET",
      url: `/api/v1/audit-logs/export?from=${new Date(Date.now() - 11 * DAY).toISOString()}`,
      headers: bearer(acme.apiKey),
    });
    expect(wide.statusCode).toBe(400);
    expect(wide.json().error.message).toContain("10 days");
    const theirs = await h.inject({ method: "GET", url: "/api/v1/audit-logs/export?user_id=alice", headers: bearer(other.apiKey) });
    expect(
      theirs.body
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line).resource_id),
    ).toEqual(["c9"]);
  });
});

describe("retention", () => {
  it("the sweep deletes records older than AUDIT_RETENTION_DAYS and keeps the rest", async () => {
    const old = await h.prisma.auditLog.create({
      data: {
        tenantId: acme.tenantId,
        actor: "worker",
        action: "ancient",
        targetType: "tenant",
        targetId: acme.tenantId,
        createdAt: new Date(Date.now() - 400 * DAY),
      },
    });
    expect(await sweepAuditLogs(h.prisma, 365)).toBeGreaterThanOrEqual(1);
    expect(await h.prisma.auditLog.findUnique({ where: { id: old.id } })).toBeNull();
    expect((await list("?actor=worker&action=connection.status_changed")).json().items).toHaveLength(1);
    expect(await sweepAuditLogs(h.prisma, 0)).toBe(0);
  });

  it("the sweep deletes sign-in verification codes a day past their expiry, used or not, and keeps the others", async () => {
    const connectionId = crypto.randomUUID();
    await h.prisma.connection.create({
      data: { id: connectionId, tenantId: acme.tenantId, userId: "alice", toolkitSlug: "github", status: "INITIATED" },
    });
    const code = (expiresAgoMs: number, used = false) =>
      h.prisma.connectionVerificationCode.create({
        data: {
          id: crypto.randomUUID(),
          tenantId: acme.tenantId,
          connectionId,
          userId: "alice",
          codeHash: crypto.randomUUID(),
          expiresAt: new Date(Date.now() - expiresAgoMs),
          ...(used ? { usedAt: new Date(Date.now() - expiresAgoMs - 60_000) } : {}),
        },
      });
    const spent = [await code(VERIFICATION_CODES_KEPT_MS + 60_000), await code(2 * VERIFICATION_CODES_KEPT_MS, true)];
    // Expired an hour ago (a late attempt is still told "expired"), and one still valid.
    const kept = [await code(3_600_000), await code(-300_000)];
    expect(await sweepVerificationCodes(h.prisma)).toBeGreaterThanOrEqual(2);
    const left = await h.prisma.connectionVerificationCode.findMany({ where: { connectionId }, select: { id: true } });
    expect(left.map((row) => row.id).sort()).toEqual(kept.map((row) => row.id).sort());
    expect(spent.every((row) => !left.some((l) => l.id === row.id))).toBe(true);
    await h.prisma.connection.delete({ where: { id: connectionId } });
  });
});
