import type { ConnectionStatus } from "../domain.js";

/**
 * The Composio port: everything Kronos Connect asks of Composio, in our words. The adapter over the official
 * `@composio/client` implements it (retries off: our queues own retries); tests point it at the emulator.
 */

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ComposioAuthConfig {
  id: string;
  name: string;
  toolkitSlug: string;
  authScheme: string | null;
  isComposioManaged: boolean;
  status: "ENABLED" | "DISABLED";
  connectionCount: number;
  createdAt: string | null;
}

export type CreateAuthConfigInput =
  | { toolkitSlug: string; managed: true; name?: string }
  | {
      toolkitSlug: string;
      managed: false;
      name: string;
      authScheme: string;
      /** client_id, client_secret, scopes... passed through to Composio, never stored by us. */
      credentials: Record<string, unknown>;
    };

export interface ComposioConnectedAccount {
  id: string;
  userId: string;
  status: ConnectionStatus;
  statusReason: string | null;
  isDisabled: boolean;
  toolkitSlug: string;
  authConfigId: string;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface ConnectLink {
  connectedAccountId: string;
  redirectUrl: string;
  /** ISO 8601; null when Composio does not say. */
  expiresAt: string | null;
}

export interface ComposioToolkit {
  slug: string;
  name: string;
  description: string | null;
  logo: string | null;
  categories: string[];
  authSchemes: string[];
  composioManagedAuthSchemes: string[];
  noAuth: boolean;
  toolsCount: number | null;
}

export interface ComposioTool {
  slug: string;
  name: string;
  description: string | null;
  toolkitSlug: string;
  inputParameters: unknown;
  outputParameters: unknown;
  version: string | null;
  tags: string[];
  noAuth: boolean;
}

export interface ExecuteToolInput {
  toolSlug: string;
  arguments: Record<string, unknown>;
  connectedAccountId?: string;
  userId?: string;
  version?: string;
}

export interface ExecuteToolResult {
  data: unknown;
  error: string | null;
  successful: boolean;
  logId: string | null;
}

export interface ComposioTriggerType {
  slug: string;
  name: string;
  description: string | null;
  instructions: string | null;
  /** "webhook" or "poll". */
  type: string | null;
  toolkitSlug: string;
  /** JSON Schema of the trigger_config an instance needs. */
  config: Record<string, unknown>;
  /** JSON Schema of what the trigger delivers. */
  payload: Record<string, unknown>;
  version: string | null;
}

/** A trigger instance as Composio lists it (`GET /trigger_instances/active`). */
export interface ComposioTriggerInstance {
  /** "ti_..." */
  id: string;
  /** The trigger type's slug. */
  slug: string;
  connectedAccountId: string;
  /** Composio's user id: ours is "<tenant_id>:<user_id>". */
  userId: string;
  config: Record<string, unknown>;
  /** Disabled at Composio (listed only with showDisabled). */
  disabled: boolean;
  updatedAt: string | null;
}

export interface ComposioPort {
  listAuthConfigs(query: {
    toolkitSlug?: string;
    isComposioManaged?: boolean;
    showDisabled?: boolean;
    search?: string;
    limit?: number;
    cursor?: string;
  }): Promise<Page<ComposioAuthConfig>>;
  getAuthConfig(id: string): Promise<ComposioAuthConfig>;
  createAuthConfig(input: CreateAuthConfigInput): Promise<ComposioAuthConfig>;
  updateAuthConfig(id: string, patch: { name?: string; credentials?: Record<string, unknown> }): Promise<void>;
  setAuthConfigEnabled(id: string, enabled: boolean): Promise<void>;
  deleteAuthConfig(id: string): Promise<void>;

  /** The hosted-link flow: required for Composio-managed OAuth configs since July 2026. */
  createConnectLink(input: { authConfigId: string; userId: string; callbackUrl?: string }): Promise<ConnectLink>;
  /** The legacy create: custom OAuth apps and non-OAuth schemes. */
  createConnectedAccount(input: { authConfigId: string; userId: string; callbackUrl?: string; data?: Record<string, unknown> }): Promise<{
    connectedAccountId: string;
    status: ComposioConnectedAccount["status"];
    redirectUrl: string | null;
  }>;
  getConnectedAccount(id: string): Promise<ComposioConnectedAccount>;
  listConnectedAccounts(query: {
    userIds?: string[];
    toolkitSlugs?: string[];
    statuses?: string[];
    limit?: number;
    cursor?: string;
  }): Promise<Page<ComposioConnectedAccount>>;
  /** Revokes the account's tokens at the provider (best effort at Composio; Composio's DELETE alone does not). */
  revokeConnectedAccount(id: string): Promise<void>;
  deleteConnectedAccount(id: string): Promise<void>;
  refreshConnectedAccount(
    id: string,
    input: { callbackUrl?: string },
  ): Promise<{ status: ComposioConnectedAccount["status"]; redirectUrl: string | null }>;
  setConnectedAccountEnabled(id: string, enabled: boolean): Promise<void>;

  listToolkits(query: { search?: string; category?: string; limit?: number; cursor?: string }): Promise<Page<ComposioToolkit>>;
  getToolkit(slug: string): Promise<ComposioToolkit>;
  listTools(query: { toolkitSlug?: string; search?: string; limit?: number; cursor?: string }): Promise<Page<ComposioTool>>;
  getTool(slug: string): Promise<ComposioTool>;
  executeTool(input: ExecuteToolInput): Promise<ExecuteToolResult>;
  /**
   * A call is about to be made (its other preparations are still running): a port that counts calls against a
   * budget may start taking the slot now, so that the call does not wait for it afterwards (withRateBudget).
   */
  reserveCall?(): void;

  listTriggerTypes(query: { toolkitSlugs?: string[]; limit?: number; cursor?: string }): Promise<Page<ComposioTriggerType>>;
  getTriggerType(slug: string): Promise<ComposioTriggerType>;
  /** Creates (or updates: one instance per account and slug) a trigger instance; returns its id ("ti_..."). */
  upsertTriggerInstance(
    slug: string,
    input: { connectedAccountId: string; config: Record<string, unknown> },
  ): Promise<{ triggerId: string }>;
  setTriggerInstanceEnabled(triggerId: string, enabled: boolean): Promise<void>;
  deleteTriggerInstance(triggerId: string): Promise<void>;
  /** Trigger instances, filtered by account or id; disabled ones too with `showDisabled`. */
  listTriggerInstances(query: {
    connectedAccountIds?: string[];
    triggerIds?: string[];
    showDisabled?: boolean;
    limit?: number;
    cursor?: string;
  }): Promise<Page<ComposioTriggerInstance>>;
}

export type ComposioErrorKind = "rate_limited" | "client" | "not_found" | "auth" | "server" | "timeout" | "network" | "malformed";

/** Anything that went wrong talking to Composio, classified so that callers decide on retries in one way. */
export class ComposioError extends Error {
  constructor(
    readonly kind: ComposioErrorKind,
    message: string,
    readonly details: { status?: number; code?: number | string; slug?: string; retryAfterSeconds?: number; requestId?: string } = {},
  ) {
    super(message);
    this.name = "ComposioError";
  }

  /** 5xx, timeouts, network failures and 429 may succeed later; other 4xx never will. */
  get retryable(): boolean {
    return (
      this.kind === "server" ||
      this.kind === "timeout" ||
      this.kind === "network" ||
      this.kind === "rate_limited" ||
      this.kind === "malformed"
    );
  }
}
