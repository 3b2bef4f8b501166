import { randomUUID } from "node:crypto";
import {
  type ComposioAuthConfig,
  type ComposioConnectedAccount,
  ComposioError,
  type ComposioPort,
  type ConnectLink,
  type CreateAuthConfigInput,
} from "@kronos/shared";

type Status = ComposioConnectedAccount["status"];
type Method = keyof ComposioPort;

interface FakeAccount extends ComposioConnectedAccount {
  callbackUrl: string | undefined;
  via: "link" | "create";
}

/**
 * An in-memory Composio for worker tests: the calls the worker makes, with failure injection and a way to play the
 * user's part (`setAccountStatus`). Only what the worker uses is implemented.
 */
export class FakeComposio implements ComposioPort {
  readonly toolkits = new Set(["github", "gmail", "slack", "notion", "linear"]);
  readonly authConfigs = new Map<string, ComposioAuthConfig>();
  readonly deletedAuthConfigs: string[] = [];
  readonly accounts = new Map<string, FakeAccount>();
  readonly calls: Array<{ method: Method; input: unknown }> = [];
  /** How long a hosted link is valid; null: the link carries no expiry. */
  linkTtlMs: number | null = 10 * 60_000;
  /** Makes createAuthConfig slow, so that concurrent jobs all reach it. */
  createAuthConfigDelayMs = 0;
  private readonly failures: Array<{ method: Method; error: Error; times: number; match?: (input: unknown) => boolean }> = [];

  /** The next `times` calls of `method` (whose input matches) throw `error`. */
  failNext(method: Method, error: Error, times = 1, match?: (input: unknown) => boolean): void {
    this.failures.push({ method, error, times, match });
  }

  failuresLeft(method: Method): number {
    return this.failures.filter((f) => f.method === method).reduce((sum, f) => sum + f.times, 0);
  }

  setAccountStatus(id: string, status: Status, statusReason: string | null = null): void {
    const account = this.accounts.get(id);
    if (!account) throw new Error(`no account ${id}`);
    account.status = status;
    account.statusReason = statusReason;
    account.updatedAt = new Date().toISOString();
  }

  addAuthConfig(config: Partial<ComposioAuthConfig> & { id: string; toolkitSlug: string }): ComposioAuthConfig {
    const full: ComposioAuthConfig = {
      name: config.id,
      authScheme: "OAUTH2",
      isComposioManaged: false,
      status: "ENABLED",
      connectionCount: 0,
      createdAt: new Date().toISOString(),
      ...config,
    };
    this.authConfigs.set(full.id, full);
    return full;
  }

  /** An account as if a user had connected it earlier. */
  addAccount(input: { userId: string; toolkitSlug?: string; status?: Status; isDisabled?: boolean }): FakeAccount {
    const now = new Date().toISOString();
    const account: FakeAccount = {
      id: `ca_${randomUUID().replaceAll("-", "").slice(0, 12)}`,
      userId: input.userId,
      status: input.status ?? "ACTIVE",
      statusReason: null,
      isDisabled: input.isDisabled ?? false,
      toolkitSlug: input.toolkitSlug ?? "github",
      authConfigId: "ac_fake",
      createdAt: now,
      updatedAt: now,
      callbackUrl: undefined,
      via: "create",
    };
    this.accounts.set(account.id, account);
    return account;
  }

  callsOf(method: Method): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.input);
  }

  private enter(method: Method, input: unknown): void {
    this.calls.push({ method, input });
    const failure = this.failures.find((f) => f.method === method && f.times > 0 && (!f.match || f.match(input)));
    if (failure) {
      failure.times -= 1;
      throw failure.error;
    }
  }

  private newAccount(
    input: { authConfigId: string; userId: string; callbackUrl?: string },
    via: FakeAccount["via"],
    status: Status,
  ): FakeAccount {
    const config = this.authConfigs.get(input.authConfigId);
    if (!config) throw new ComposioError("not_found", `Auth config ${input.authConfigId} not found`, { status: 404 });
    const now = new Date().toISOString();
    const account: FakeAccount = {
      id: `ca_${randomUUID().replaceAll("-", "").slice(0, 12)}`,
      userId: input.userId,
      status,
      statusReason: null,
      isDisabled: false,
      toolkitSlug: config.toolkitSlug,
      authConfigId: config.id,
      createdAt: now,
      updatedAt: now,
      callbackUrl: input.callbackUrl,
      via,
    };
    this.accounts.set(account.id, account);
    return account;
  }

  async createAuthConfig(input: CreateAuthConfigInput): Promise<ComposioAuthConfig> {
    this.enter("createAuthConfig", input);
    if (this.createAuthConfigDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.createAuthConfigDelayMs));
    if (!this.toolkits.has(input.toolkitSlug))
      throw new ComposioError("not_found", `Toolkit ${input.toolkitSlug} not found`, { status: 404 });
    return this.addAuthConfig({
      id: `ac_${randomUUID().replaceAll("-", "").slice(0, 12)}`,
      toolkitSlug: input.toolkitSlug,
      name: input.name ?? `${input.toolkitSlug} managed`,
      authScheme: input.managed ? "OAUTH2" : input.authScheme,
      isComposioManaged: input.managed,
    });
  }

  async deleteAuthConfig(id: string): Promise<void> {
    this.enter("deleteAuthConfig", id);
    if (!this.authConfigs.delete(id)) throw new ComposioError("not_found", "Auth config not found", { status: 404 });
    this.deletedAuthConfigs.push(id);
  }

  async createConnectLink(input: { authConfigId: string; userId: string; callbackUrl?: string }): Promise<ConnectLink> {
    this.enter("createConnectLink", input);
    const account = this.newAccount(input, "link", "INITIATED");
    return {
      connectedAccountId: account.id,
      redirectUrl: `https://connect.composio.example/link/lk_${account.id}`,
      expiresAt: this.linkTtlMs === null ? null : new Date(Date.now() + this.linkTtlMs).toISOString(),
    };
  }

  async createConnectedAccount(input: { authConfigId: string; userId: string; callbackUrl?: string; data?: Record<string, unknown> }) {
    this.enter("createConnectedAccount", input);
    const config = this.authConfigs.get(input.authConfigId);
    const oauth = (config?.authScheme ?? "").startsWith("OAUTH");
    const account = this.newAccount(input, "create", oauth ? "INITIATED" : "ACTIVE");
    return {
      connectedAccountId: account.id,
      status: account.status,
      redirectUrl: oauth ? `https://provider.example/authorize?state=${account.id}` : null,
    };
  }

  async getConnectedAccount(id: string): Promise<ComposioConnectedAccount> {
    this.enter("getConnectedAccount", id);
    const account = this.accounts.get(id);
    if (!account) throw new ComposioError("not_found", "No connected account found", { status: 404, code: 1803 });
    const { callbackUrl: _c, via: _v, ...rest } = account;
    return { ...rest };
  }

  async revokeConnectedAccount(id: string): Promise<void> {
    this.enter("revokeConnectedAccount", id);
    const account = this.accounts.get(id);
    if (!account) throw new ComposioError("not_found", "No connected account found", { status: 404, code: 1803 });
    account.status = "REVOKED";
  }

  async deleteConnectedAccount(id: string): Promise<void> {
    this.enter("deleteConnectedAccount", id);
    this.accounts.delete(id);
  }

  private unsupported(method: string): never {
    throw new Error(`FakeComposio.${method} is not implemented`);
  }
  listAuthConfigs(): never {
    return this.unsupported("listAuthConfigs");
  }
  getAuthConfig(): never {
    return this.unsupported("getAuthConfig");
  }

  async updateAuthConfig(id: string, patch: { name?: string; credentials?: Record<string, unknown> }): Promise<void> {
    this.enter("updateAuthConfig", { id, ...patch });
    const config = this.authConfigs.get(id);
    if (!config) throw new ComposioError("not_found", "Auth config not found", { status: 404 });
    if (patch.name) config.name = patch.name;
  }

  async setAuthConfigEnabled(id: string, enabled: boolean): Promise<void> {
    this.enter("setAuthConfigEnabled", { id, enabled });
    const config = this.authConfigs.get(id);
    if (!config) throw new ComposioError("not_found", "Auth config not found", { status: 404 });
    config.status = enabled ? "ENABLED" : "DISABLED";
  }

  listConnectedAccounts(): never {
    return this.unsupported("listConnectedAccounts");
  }

  async refreshConnectedAccount(id: string, input: { callbackUrl?: string }) {
    this.enter("refreshConnectedAccount", { id, ...input });
    const account = this.accounts.get(id);
    if (!account) throw new ComposioError("not_found", "No connected account found", { status: 404, code: 1803 });
    account.status = "INITIATED";
    account.statusReason = null;
    account.callbackUrl = input.callbackUrl;
    return { status: account.status, redirectUrl: `https://connect.composio.example/link/refresh_${id}_${this.calls.length}` };
  }

  async setConnectedAccountEnabled(id: string, enabled: boolean): Promise<void> {
    this.enter("setConnectedAccountEnabled", { id, enabled });
    const account = this.accounts.get(id);
    if (!account) throw new ComposioError("not_found", "No connected account found", { status: 404, code: 1803 });
    account.isDisabled = !enabled;
    if (enabled && account.status === "INACTIVE") account.status = "ACTIVE";
    if (!enabled && account.status !== "REVOKED") account.status = "INACTIVE";
  }

  listToolkits(): never {
    return this.unsupported("listToolkits");
  }
  getToolkit(): never {
    return this.unsupported("getToolkit");
  }
  listTools(): never {
    return this.unsupported("listTools");
  }
  getTool(): never {
    return this.unsupported("getTool");
  }
  executeTool(): never {
    return this.unsupported("executeTool");
  }
  listTriggerTypes(): never {
    return this.unsupported("listTriggerTypes");
  }
  getTriggerType(): never {
    return this.unsupported("getTriggerType");
  }

  /** Trigger instances by id: one per account and slug, as at Composio. */
  readonly triggerInstances = new Map<string, { id: string; slug: string; accountId: string; config: unknown; enabled: boolean }>();

  async upsertTriggerInstance(
    slug: string,
    input: { connectedAccountId: string; config: Record<string, unknown> },
  ): Promise<{ triggerId: string }> {
    this.enter("upsertTriggerInstance", { slug, ...input });
    if (!this.accounts.has(input.connectedAccountId)) throw new ComposioError("not_found", "No connected account found", { status: 404 });
    const existing = [...this.triggerInstances.values()].find((t) => t.slug === slug && t.accountId === input.connectedAccountId);
    const id = existing?.id ?? `ti_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    this.triggerInstances.set(id, {
      id,
      slug,
      accountId: input.connectedAccountId,
      config: input.config,
      enabled: existing?.enabled ?? true,
    });
    return { triggerId: id };
  }

  async setTriggerInstanceEnabled(id: string, enabled: boolean): Promise<void> {
    this.enter("setTriggerInstanceEnabled", { id, enabled });
    const instance = this.triggerInstances.get(id);
    if (!instance) throw new ComposioError("not_found", "Trigger instance not found", { status: 404 });
    instance.enabled = enabled;
  }

  async deleteTriggerInstance(id: string): Promise<void> {
    this.enter("deleteTriggerInstance", { id });
    if (!this.triggerInstances.delete(id)) throw new ComposioError("not_found", "Trigger instance not found", { status: 404 });
  }

  async listTriggerInstances(query: { connectedAccountIds?: string[]; triggerIds?: string[]; showDisabled?: boolean }) {
    this.enter("listTriggerInstances", query);
    const items = [...this.triggerInstances.values()]
      .filter((t) => query.showDisabled || t.enabled)
      .filter((t) => !query.connectedAccountIds || query.connectedAccountIds.includes(t.accountId))
      .filter((t) => !query.triggerIds || query.triggerIds.includes(t.id))
      .map((t) => ({
        id: t.id,
        slug: t.slug,
        connectedAccountId: t.accountId,
        userId: this.accounts.get(t.accountId)?.userId ?? "",
        config: t.config as Record<string, unknown>,
        disabled: !t.enabled,
        updatedAt: null,
      }));
    return { items, nextCursor: null };
  }
}
