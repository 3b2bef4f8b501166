import { type AuthConfig, isDuplicateKeyError, type PrismaClient, recordAudit } from "@kronos/db";
import {
  type AuthConfigJob,
  type AuthConfigOpResult,
  ComposioError,
  type ComposioPort,
  type Config,
  type Logger,
  openJobSecret,
} from "@kronos/shared";
import { describeComposioRefusal, describeError, Refusal } from "../jobs/failure-policy.js";

export interface AuthConfigOpDeps {
  config: Pick<Config, "SESSION_SECRET">;
  prisma: PrismaClient;
  composio: Pick<ComposioPort, "createAuthConfig" | "updateAuthConfig" | "deleteAuthConfig" | "setAuthConfigEnabled">;
  logger: Logger;
}

type Credentials = Record<string, unknown>;
type OpJob<Op extends AuthConfigJob["op"]> = Extract<AuthConfigJob, { op: Op }>;

/**
 * The tenant's custom auth configs: create, update, delete, set_enabled, each at Composio first and then in our row,
 * with an audit row. Client secrets travel sealed in the job, are opened here only to be passed to Composio, and
 * never reach a row, a log line or a failure message (Composio's messages are scrubbed of every credential value).
 */
export async function runAuthConfigOp(deps: AuthConfigOpDeps, job: AuthConfigJob): Promise<AuthConfigOpResult> {
  let secrets: string[] = [];
  try {
    const sealed = "sealedCredentials" in job ? job.sealedCredentials : undefined;
    const credentials = sealed ? openCredentials(sealed, deps.config.SESSION_SECRET) : undefined;
    secrets = credentials ? secretValues(credentials) : [];
    switch (job.op) {
      case "create":
        return await create(deps, job, credentials as Credentials);
      case "update":
        return await update(deps, job, credentials);
      case "delete":
        return await remove(deps, job);
      case "set_enabled":
        return await setEnabled(deps, job);
    }
  } catch (error) {
    // Worded and scrubbed here, where the secrets are known: the failure policy then decides (and logs) as usual.
    if (error instanceof ComposioError && !error.retryable && error.kind !== "rate_limited") {
      const failure = describeComposioRefusal(error, `Auth config "${job.op === "create" ? job.toolkit : job.authConfigId}"`);
      throw new Refusal({ code: failure.code, message: scrub(failure.message, secrets) });
    }
    throw scrubError(error, secrets);
  }
}

function openCredentials(sealed: string, secret: string): Credentials {
  let opened: unknown;
  try {
    opened = openJobSecret(sealed, secret);
  } catch {
    throw new Refusal({ code: "VALIDATION_FAILED", message: "The sealed credentials could not be opened" });
  }
  if (!opened || typeof opened !== "object" || Array.isArray(opened)) {
    throw new Refusal({ code: "VALIDATION_FAILED", message: "The sealed credentials are not an object" });
  }
  return opened as Credentials;
}

/** Every string in the credentials (client id, secret, scopes...), to scrub them from anything we write. */
function secretValues(credentials: Credentials): string[] {
  const values: string[] = [];
  const walk = (value: unknown) => {
    if (typeof value === "string" && value.length >= 4) values.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") Object.values(value).forEach(walk);
  };
  walk(credentials);
  // Longest first, so that a value containing another is scrubbed whole.
  return values.sort((a, b) => b.length - a.length);
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("[redacted]");
  return out;
}

/** The error BullMQ stores as failedReason: a ComposioError's message may quote the request. */
function scrubError(error: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0 || !(error instanceof Error)) return error;
  const message = scrub(error.message, secrets);
  if (message === error.message) return error;
  if (error instanceof ComposioError) return new ComposioError(error.kind, message, error.details);
  return new Error(message);
}

async function ownRow(deps: AuthConfigOpDeps, job: OpJob<"update" | "delete" | "set_enabled">): Promise<AuthConfig> {
  const row = await deps.prisma.authConfig.findUnique({ where: { id: job.authConfigId } });
  if (!row || row.tenantId !== job.tenantId) throw Refusal.notFound(`Auth config "${job.authConfigId}"`);
  return row;
}

async function create(deps: AuthConfigOpDeps, job: OpJob<"create">, credentials: Credentials): Promise<AuthConfigOpResult> {
  const created = await deps.composio.createAuthConfig({
    toolkitSlug: job.toolkit,
    managed: false,
    name: job.name,
    authScheme: job.authScheme,
    credentials,
  });
  deps.logger.info({ authConfigId: created.id, toolkit: job.toolkit }, "auth config created at Composio");
  try {
    await deps.prisma.$transaction(async (tx) => {
      const row = await tx.authConfig.create({
        data: {
          id: created.id,
          tenantId: job.tenantId,
          toolkitSlug: job.toolkit,
          name: job.name,
          authScheme: created.authScheme ?? job.authScheme,
          isComposioManaged: false,
          enabled: created.status !== "DISABLED",
        },
      });
      await recordAudit(tx, {
        tenantId: job.tenantId,
        actor: job.actor,
        action: "auth_config.created",
        resourceId: row.id,
        // What was configured, never the values: field names only.
        data: {
          toolkit: row.toolkitSlug,
          name: row.name,
          auth_scheme: row.authScheme,
          credential_fields: Object.keys(credentials).sort(),
        },
      });
    });
  } catch (error) {
    // Without our row nobody could use or delete it: drop it at Composio, and let the job retry.
    if (!isDuplicateKeyError(error)) {
      await deps.composio
        .deleteAuthConfig(created.id)
        .catch((e: unknown) =>
          deps.logger.warn({ err: describeError(e), authConfigId: created.id }, "could not drop an orphan auth config"),
        );
    }
    throw error;
  }
  return { auth_config_id: created.id, deleted: false };
}

async function update(deps: AuthConfigOpDeps, job: OpJob<"update">, credentials: Credentials | undefined): Promise<AuthConfigOpResult> {
  const row = await ownRow(deps, job);
  if (!job.name && !credentials) throw new Refusal({ code: "VALIDATION_FAILED", message: "update needs a name or sealedCredentials" });
  await deps.composio.updateAuthConfig(row.id, { ...(job.name ? { name: job.name } : {}), ...(credentials ? { credentials } : {}) });
  await deps.prisma.$transaction(async (tx) => {
    if (job.name) await tx.authConfig.update({ where: { id: row.id }, data: { name: job.name } });
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: "auth_config.updated",
      resourceId: row.id,
      data: {
        ...(job.name ? { name: { from: row.name, to: job.name } } : {}),
        credential_fields: credentials ? Object.keys(credentials).sort() : [],
      },
    });
  });
  return { auth_config_id: row.id, deleted: false };
}

/** Deletes at Composio (already gone counts as deleted), then the row: its connections keep authConfigId null. */
async function remove(deps: AuthConfigOpDeps, job: OpJob<"delete">): Promise<AuthConfigOpResult> {
  const row = await ownRow(deps, job);
  try {
    await deps.composio.deleteAuthConfig(row.id);
  } catch (error) {
    if (!(error instanceof ComposioError && (error.kind === "not_found" || error.details.status === 404))) throw error;
    deps.logger.info({ authConfigId: row.id }, "auth config already gone at Composio");
  }
  await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.authConfig.deleteMany({ where: { id: row.id, tenantId: job.tenantId } });
    if (count === 0) return;
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: "auth_config.deleted",
      resourceId: row.id,
      data: { toolkit: row.toolkitSlug, name: row.name, is_composio_managed: row.isComposioManaged },
    });
  });
  return { auth_config_id: row.id, deleted: true };
}

async function setEnabled(deps: AuthConfigOpDeps, job: OpJob<"set_enabled">): Promise<AuthConfigOpResult> {
  const enabled = job.enabled;
  const row = await ownRow(deps, job);
  await deps.composio.setAuthConfigEnabled(row.id, enabled);
  await deps.prisma.$transaction(async (tx) => {
    await tx.authConfig.update({ where: { id: row.id }, data: { enabled } });
    await recordAudit(tx, {
      tenantId: job.tenantId,
      actor: job.actor,
      action: enabled ? "auth_config.enabled" : "auth_config.disabled",
      resourceId: row.id,
      data: { from: row.enabled, to: enabled },
    });
  });
  return { auth_config_id: row.id, deleted: false };
}
