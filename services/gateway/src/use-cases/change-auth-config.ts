import { randomUUID } from "node:crypto";
import {
  AppError,
  type AuthConfigJob,
  type AuthConfigView,
  actorOf,
  authConfigOpResultSchema,
  type CreateAuthConfigBody,
  JOBS,
  notFound,
  type Principal,
  sealJobSecret,
  type UpdateAuthConfigBody,
} from "@kronos/shared";
import type { GatewayContext } from "../context.js";
import { toAuthConfigView } from "../lib/auth-config-view.js";
import { addAndWait } from "../lib/job-wait.js";

const authConfigPath = (id: string) => `/api/v1/composio/auth-configs/${id}`;
const AUTH_CONFIGS_PATH = "/api/v1/composio/auth-configs";

export type AuthConfigOutcome =
  | { kind: "done"; body: AuthConfigView }
  | { kind: "deleted" }
  | { kind: "accepted"; body: { auth_config_id: string | null; status: "PENDING"; poll_url: string } };

type Op =
  | { op: "create"; body: CreateAuthConfigBody }
  | { op: "update"; body: UpdateAuthConfigBody }
  | { op: "delete" }
  | { op: "set_enabled"; enabled: boolean };

/**
 * Asks the worker to change an auth config at Composio and in our table, waits up to CONNECT_WAIT_MS, and answers
 * with the stored row. Credentials travel sealed, and the job is removed when it ends, so no secret lingers.
 */
export async function changeAuthConfig(
  ctx: GatewayContext,
  principal: Principal,
  authConfigId: string | null,
  change: Op,
): Promise<AuthConfigOutcome> {
  if (authConfigId !== null) await assertChangeable(ctx, principal.tenantId, authConfigId, change);
  const data = authConfigJob(ctx, principal, authConfigId, change);
  const jobId = randomUUID();
  const { authConfig: queue, authConfigEvents: events } = ctx.queues;
  const outcome = await addAndWait({ queue, events, jobId }, ctx.config.CONNECT_WAIT_MS, () =>
    queue.add(JOBS.authConfigOp, data, {
      jobId,
      attempts: ctx.config.COMPOSIO_MAX_ATTEMPTS,
      removeOnComplete: true,
      removeOnFail: true,
    }),
  );
  if (outcome.state === "failed") throw new AppError(outcome.failure.code, outcome.failure.message);
  if (outcome.state === "pending") {
    return {
      kind: "accepted",
      body: {
        auth_config_id: authConfigId,
        status: "PENDING",
        poll_url: authConfigId
          ? authConfigPath(authConfigId)
          : `${AUTH_CONFIGS_PATH}?toolkit_slug=${data.op === "create" ? data.toolkit : ""}`,
      },
    };
  }
  const result = authConfigOpResultSchema.safeParse(outcome.value);
  if (!result.success) throw new AppError("UPSTREAM_ERROR", "The auth config job returned an unexpected result");
  if (change.op === "delete" || result.data.deleted) return { kind: "deleted" };
  const row = await ctx.prisma.authConfig.findFirst({ where: { id: result.data.auth_config_id, tenantId: principal.tenantId } });
  if (!row) throw new AppError("UPSTREAM_ERROR", "The auth config job did not store the auth config");
  return { kind: "done", body: toAuthConfigView(row) };
}

async function assertChangeable(ctx: GatewayContext, tenantId: string, id: string, change: Op): Promise<void> {
  const row = await ctx.prisma.authConfig.findFirst({ where: { id, tenantId } });
  if (!row) throw notFound("Auth config");
  if (change.op === "update" && change.body.credentials !== undefined && row.isComposioManaged)
    throw new AppError("CONFLICT", "A Composio-managed auth config has no credentials of ours to change");
}

/** The job for one change: each op carries exactly what it needs (credentials sealed). */
function authConfigJob(ctx: GatewayContext, principal: Principal, authConfigId: string | null, change: Op): AuthConfigJob {
  const base = { tenantId: principal.tenantId, actor: actorOf(principal) };
  const seal = (credentials: unknown) => sealJobSecret(credentials, ctx.config.SESSION_SECRET);
  if (change.op === "create") {
    const { toolkit_slug, name, auth_scheme, credentials } = change.body;
    return { ...base, op: "create", toolkit: toolkit_slug, name, authScheme: auth_scheme, sealedCredentials: seal(credentials) };
  }
  if (authConfigId === null) throw new AppError("BAD_REQUEST", `${change.op} needs an auth config id`);
  if (change.op === "update") {
    return {
      ...base,
      op: "update",
      authConfigId,
      ...(change.body.name !== undefined ? { name: change.body.name } : {}),
      ...(change.body.credentials !== undefined ? { sealedCredentials: seal(change.body.credentials) } : {}),
    };
  }
  if (change.op === "delete") return { ...base, op: "delete", authConfigId };
  return { ...base, op: "set_enabled", authConfigId, enabled: change.enabled };
}
