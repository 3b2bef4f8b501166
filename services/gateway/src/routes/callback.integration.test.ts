import { randomUUID } from "node:crypto";
import { JOBS, QUEUES } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countJobs, type Harness, jobsOf, startHarness } from "../../test/harness.js";

let h: Harness;
let tenantId: string;

async function seedConnection(returnUrl: string | null): Promise<string> {
  const id = randomUUID();
  await h.prisma.connection.create({ data: { id, tenantId, userId: "alice", toolkitSlug: "github", status: "INITIATED", returnUrl } });
  return id;
}

beforeAll(async () => {
  h = await startHarness();
  const tenant = await createTestTenant(h.prisma, "callback");
  tenantId = tenant.tenantId;
  h.secrets.push(tenant.apiKey);
});
afterAll(async () => {
  await h?.close();
});

describe("GET /api/v1/composio/connections/:id/callback", () => {
  it("enqueues a status check and redirects to the client's URL with the outcome", async () => {
    const id = await seedConnection("https://chat.example.com/done?tab=apps");
    const response = await h.inject({
      method: "GET",
      url: `/api/v1/composio/connections/${id}/callback?status=success&connectedAccountId=ca_evil`,
    });
    expect(response.statusCode).toBe(302);
    const location = new URL(response.headers.location as string);
    expect(location.origin + location.pathname).toBe("https://chat.example.com/done");
    expect(Object.fromEntries(location.searchParams)).toEqual({ tab: "apps", connection_id: id, status: "success" });

    const jobs = await jobsOf(h.config, h.redis, QUEUES.statusPoll).getJobs(["waiting", "delayed", "prioritized"]);
    const check = jobs.find((job) => job.data.connectionId === id);
    expect(check?.name).toBe(JOBS.pollConnectionStatus);
    expect(check?.data).toEqual({ connectionId: id, tenantId, attempt: 0 });
    expect(check?.id).toMatch(new RegExp(`^check-${id}-`));
  });

  it("passes only the two documented outcomes through", async () => {
    const id = await seedConnection("https://chat.example.com/done");
    for (const [query, expected] of [
      ["status=failed", "failed"],
      ["status=%3Cscript%3E", "unknown"],
      ["status=success&status=failed", "unknown"],
      ["", "unknown"],
    ] as const) {
      const response = await h.inject({ method: "GET", url: `/api/v1/composio/connections/${id}/callback?${query}` });
      expect(response.statusCode).toBe(302);
      expect(new URL(response.headers.location as string).searchParams.get("status"), query).toBe(expected);
    }
  });

  it("shows a page to close when the client gave no URL", async () => {
    const id = await seedConnection(null);
    const response = await h.inject({ method: "GET", url: `/api/v1/composio/connections/${id}/callback?status=success` });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
    expect(response.body).toContain("You can close this window");
  });

  it("answers 404 for an unknown connection and enqueues nothing", async () => {
    const before = await countJobs(h.config, h.redis, QUEUES.statusPoll);
    const response = await h.inject({ method: "GET", url: `/api/v1/composio/connections/${randomUUID()}/callback?status=success` });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect(await countJobs(h.config, h.redis, QUEUES.statusPoll)).toBe(before);
  });
});
