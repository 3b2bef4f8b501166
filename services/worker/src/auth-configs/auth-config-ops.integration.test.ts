import { type AuthConfigJob, authConfigOpResultSchema, ComposioError, decodeJobFailure, JOBS, sealJobSecret } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeComposio } from "../test-support/fake-composio.js";
import { capturingLogger, WorkerHarness } from "../test-support/harness.js";

/** A job as the test writes it: any op, the actor optional. */
type Draft<T> = T extends unknown ? Omit<T, "actor"> & { actor?: string } : never;

const fake = new FakeComposio();
const h = new WorkerHarness();
const captured = capturingLogger();

beforeAll(() => h.start(fake, { logger: captured.logger }));
afterAll(() => h.stop());

const CLIENT_SECRET = "cs-0123456789-very-secret-value";
const NEW_SECRET = "cs-rotated-9876543210-secret";

const seal = (value: unknown) => sealJobSecret(value, h.config.SESSION_SECRET);
const run = (data: Draft<AuthConfigJob>) => h.run(h.workers.queues.authConfig, JOBS.authConfigOp, { actor: "api_key:test", ...data });

/** Everything we stored or logged about a tenant, as text, to look for secrets in. */
async function everythingStored(tenantId: string): Promise<string> {
  const rows = [
    await h.prisma.authConfig.findMany({ where: { tenantId } }),
    await h.prisma.auditLog.findMany({ where: { tenantId }, select: { action: true, actor: true, data: true, targetId: true } }),
  ];
  return JSON.stringify(rows) + captured.lines.join("\n");
}

describe("auth-config ops", () => {
  it("creates a custom auth config with the opened credentials; the secret is stored and logged nowhere", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const credentials = { client_id: "client-id-abc", client_secret: CLIENT_SECRET, scopes: ["repo", "read:user"] };
    const job = await run({
      tenantId,
      op: "create",
      toolkit: "GitHub",
      name: "Our GitHub app",
      authScheme: "OAUTH2",
      sealedCredentials: seal(credentials),
    });
    expect(job.failedReason).toBeUndefined();
    const result = authConfigOpResultSchema.parse(job.returnvalue);
    expect(result.deleted).toBe(false);

    // Composio received the opened credentials, as a custom (not managed) config.
    const call = fake.callsOf("createAuthConfig").at(-1);
    expect(call).toEqual({ toolkitSlug: "github", managed: false, name: "Our GitHub app", authScheme: "OAUTH2", credentials });

    const row = await h.prisma.authConfig.findUniqueOrThrow({ where: { id: result.auth_config_id } });
    expect(row).toMatchObject({ tenantId, toolkitSlug: "github", name: "Our GitHub app", authScheme: "OAUTH2", isComposioManaged: false });
    expect(row.managedKey).toBeNull();
    const audit = await h.prisma.auditLog.findFirstOrThrow({ where: { targetId: row.id, action: "auth_config.created" } });
    expect(audit.data).toMatchObject({ toolkit: "github", credential_fields: ["client_id", "client_secret", "scopes"] });

    expect(await everythingStored(tenantId)).not.toContain(CLIENT_SECRET);
    // The sealed secret does not stay in Redis either once the job is over.
    const stored = await Job.fromId(h.workers.queues.authConfig, job.id!);
    expect(stored?.data.sealedCredentials).toBeUndefined();
  });

  it("keeps the secret out of the failure message and the logs when Composio's error quotes it", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    fake.failNext(
      "createAuthConfig",
      new ComposioError("client", `Invalid client_secret "${CLIENT_SECRET}" for client client-id-xyz`, { status: 400 }),
      1,
      (input) => (input as { name?: string }).name === tenantId,
    );
    const job = await run({
      tenantId,
      op: "create",
      toolkit: "github",
      name: tenantId,
      authScheme: "OAUTH2",
      sealedCredentials: seal({ client_id: "client-id-xyz", client_secret: CLIENT_SECRET }),
    });
    expect(job.attemptsMade).toBe(1);
    const failure = decodeJobFailure(job.failedReason);
    expect(failure.code).toBe("BAD_REQUEST");
    expect(failure.message).toContain("[redacted]");
    expect(job.failedReason).not.toContain(CLIENT_SECRET);
    expect(await h.prisma.authConfig.count({ where: { tenantId } })).toBe(0);
    expect(await everythingStored(tenantId)).not.toContain(CLIENT_SECRET);
  });

  it("refuses sealed data it cannot open", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const job = await run({ tenantId, op: "create", toolkit: "github", name: "x", authScheme: "OAUTH2", sealedCredentials: "a.b.c" });
    expect(decodeJobFailure(job.failedReason)).toEqual({
      code: "VALIDATION_FAILED",
      message: "The sealed credentials could not be opened",
    });
  });

  it("updates, disables and deletes, with audit rows; connections keep a null auth config", async () => {
    const { tenantId } = await createTestTenant(h.prisma);
    const created = await run({
      tenantId,
      op: "create",
      toolkit: "slack",
      name: "Slack app",
      authScheme: "OAUTH2",
      sealedCredentials: seal({ client_id: "slack-client", client_secret: CLIENT_SECRET }),
    });
    const id = created.returnvalue.auth_config_id as string;
    const connection = await h.prisma.connection.create({
      data: { id: crypto.randomUUID(), tenantId, userId: "bob", toolkitSlug: "slack", authConfigId: id, status: "ACTIVE" },
    });

    const updated = await run({
      tenantId,
      op: "update",
      authConfigId: id,
      name: "Slack app v2",
      sealedCredentials: seal({ client_secret: NEW_SECRET }),
    });
    expect(updated.returnvalue).toEqual({ auth_config_id: id, deleted: false });
    expect(fake.callsOf("updateAuthConfig").at(-1)).toEqual({ id, name: "Slack app v2", credentials: { client_secret: NEW_SECRET } });
    expect((await h.prisma.authConfig.findUniqueOrThrow({ where: { id } })).name).toBe("Slack app v2");

    const disabled = await run({ tenantId, op: "set_enabled", authConfigId: id, enabled: false });
    expect(disabled.failedReason).toBeUndefined();
    expect(fake.authConfigs.get(id)?.status).toBe("DISABLED");
    expect((await h.prisma.authConfig.findUniqueOrThrow({ where: { id } })).enabled).toBe(false);

    // Another tenant cannot touch it.
    const other = await createTestTenant(h.prisma);
    const foreign = await run({ tenantId: other.tenantId, op: "delete", authConfigId: id });
    expect(decodeJobFailure(foreign.failedReason).code).toBe("NOT_FOUND");

    const deleted = await run({ tenantId, op: "delete", authConfigId: id });
    expect(deleted.returnvalue).toEqual({ auth_config_id: id, deleted: true });
    expect(fake.deletedAuthConfigs).toContain(id);
    expect(await h.prisma.authConfig.findUnique({ where: { id } })).toBeNull();
    expect((await h.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })).authConfigId).toBeNull();

    const actions = (await h.prisma.auditLog.findMany({ where: { targetId: id }, orderBy: { id: "asc" } })).map((a) => a.action);
    expect(actions).toEqual(["auth_config.created", "auth_config.updated", "auth_config.disabled", "auth_config.deleted"]);
    const stored = await everythingStored(tenantId);
    expect(stored).not.toContain(CLIENT_SECRET);
    expect(stored).not.toContain(NEW_SECRET);
  });
});
