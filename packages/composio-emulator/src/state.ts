import { randomBytes, randomUUID } from "node:crypto";
import { CONNECTION_STATUSES, type ConnectionStatus } from "@kronos/shared";

/** Composio's connected-account statuses: a fact about Composio, defined once in @kronos/shared. */
export type AccountStatus = ConnectionStatus;
export const ACCOUNT_STATUSES: readonly AccountStatus[] = CONNECTION_STATUSES;

export interface AuthConfigRecord {
  id: string;
  uuid: string;
  toolkitSlug: string;
  name: string;
  authScheme: string;
  isComposioManaged: boolean;
  status: "ENABLED" | "DISABLED";
  /** Kept to behave like Composio; never sent back (client_secret and other secrets are dropped on output). */
  credentials: Record<string, unknown>;
  scopes: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ConnectedAccountRecord {
  id: string;
  uuid: string;
  userId: string;
  authConfigId: string;
  toolkitSlug: string;
  status: AccountStatus;
  statusReason: string | null;
  isDisabled: boolean;
  callbackUrl: string | null;
  redirectUrl: string | null;
  /** Non-secret connection data given at creation (legacy create). */
  data: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface LinkRecord {
  token: string;
  connectedAccountId: string;
  callbackUrl: string | null;
  expiresAt: number;
  used: boolean;
}

/** A trigger instance: one per connected account and trigger slug (an upsert updates its config). */
export interface TriggerInstanceRecord {
  id: string;
  uuid: string;
  slug: string;
  connectedAccountId: string;
  config: Record<string, unknown>;
  /** Null while enabled. */
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RequestLogEntry {
  seq: number;
  method: string;
  /** The full path without the query string, e.g. /api/v3.1/tools/execute/GITHUB_CREATE_AN_ISSUE. */
  path: string;
  /** The path without its /api/v3 or /api/v3.1 prefix, e.g. /tools/execute/GITHUB_CREATE_AN_ISSUE. */
  route: string;
  apiVersion: "v3" | "v3.1" | null;
  query: string;
  time: string;
  /** The body as received, with secrets replaced by "[redacted]"; absent when the request never got that far. */
  body?: unknown;
  /** The kind of fault injected into this request, if any. */
  fault?: string;
  /** True when the emulator's rate limit answered this request with 429. */
  rateLimited?: true;
}

export interface ExecutionRecord {
  logId: string;
  toolSlug: string;
  connectedAccountId: string | null;
  userId: string | null;
  arguments: Record<string, unknown>;
  successful: boolean;
  time: string;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function nanoid(prefix: string, length = 12): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}

/** Called after an account's status changed (not when it is set to the status it already has). */
export type AccountStatusListener = (account: ConnectedAccountRecord, previous: AccountStatus) => void;

/** All mutable state of one emulator instance. */
export class EmulatorState {
  authConfigs = new Map<string, AuthConfigRecord>();
  accounts = new Map<string, ConnectedAccountRecord>();
  links = new Map<string, LinkRecord>();
  requests: RequestLogEntry[] = [];
  executions: ExecutionRecord[] = [];
  /** Trigger instance ids (`ti_...`), one per connected account and trigger slug: `<account id> <slug>` -> id. */
  triggerIds = new Map<string, string>();
  /** Trigger instances made with the upsert endpoint, by id. */
  triggerInstances = new Map<string, TriggerInstanceRecord>();
  /** Survive reset: they are wiring (the webhook dispatcher), not state. */
  private readonly statusListeners: AccountStatusListener[] = [];
  private seq = 0;
  /** Added to the wall clock: lets tests expire links without waiting. */
  clockOffsetMs = 0;

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  reset(): void {
    this.authConfigs.clear();
    this.accounts.clear();
    this.links.clear();
    this.requests = [];
    this.executions = [];
    this.triggerIds.clear();
    this.triggerInstances.clear();
    this.clockOffsetMs = 0;
  }

  onAccountStatusChange(listener: AccountStatusListener): void {
    this.statusListeners.push(listener);
  }

  /** The stable id of the trigger `slug` on an account (created on first use). */
  triggerId(connectedAccountId: string, slug: string): string {
    const key = `${connectedAccountId} ${slug}`;
    let id = this.triggerIds.get(key);
    if (!id) {
      id = nanoid("ti");
      this.triggerIds.set(key, id);
    }
    return id;
  }

  /** Creates the account's instance of `slug`, or updates its config (Composio's upsert). */
  upsertTriggerInstance(account: ConnectedAccountRecord, slug: string, config: Record<string, unknown>): TriggerInstanceRecord {
    const id = this.triggerId(account.id, slug);
    const now = this.nowIso();
    const existing = this.triggerInstances.get(id);
    if (existing) {
      existing.config = config;
      existing.updatedAt = now;
      return existing;
    }
    const created: TriggerInstanceRecord = {
      id,
      uuid: this.newUuid(),
      slug,
      connectedAccountId: account.id,
      config,
      disabledAt: null,
      createdAt: now,
      updatedAt: now,
    };
    this.triggerInstances.set(id, created);
    return created;
  }

  /** Deletes an instance; a later upsert of the same account and slug makes a new one, with a new id. */
  deleteTriggerInstance(instance: TriggerInstanceRecord): void {
    this.triggerInstances.delete(instance.id);
    this.triggerIds.delete(`${instance.connectedAccountId} ${instance.slug}`);
  }

  /** A deleted account's trigger instances go with it, as at Composio. */
  deleteAccountTriggers(accountId: string): void {
    for (const instance of [...this.triggerInstances.values()]) {
      if (instance.connectedAccountId === accountId) this.deleteTriggerInstance(instance);
    }
  }

  newUuid(): string {
    return randomUUID();
  }

  connectionCount(authConfigId: string): number {
    let n = 0;
    for (const a of this.accounts.values()) if (a.authConfigId === authConfigId) n++;
    return n;
  }

  /** Every status change goes through here, so that listeners (the `expired` webhook) see all of them. */
  setAccountStatus(account: ConnectedAccountRecord, status: AccountStatus, statusReason: string | null = null): void {
    const previous = account.status;
    account.status = status;
    account.statusReason = statusReason;
    account.isDisabled = status === "INACTIVE";
    account.updatedAt = this.nowIso();
    if (previous !== status) for (const listener of this.statusListeners) listener(account, previous);
  }
}
