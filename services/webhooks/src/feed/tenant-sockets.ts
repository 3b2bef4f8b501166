import type { FeedClient } from "./client.js";

/**
 * One tenant's sockets, indexed by who they may see: API-key sockets see every event of the tenant, a user's sockets
 * only that user's. An event then reaches its audience without looking at the tenant's other sockets (a tenant with
 * thousands of users' sockets open pays for the few that match, not for all of them).
 */
export class TenantSockets {
  readonly all = new Set<FeedClient>();
  private readonly tenantWide = new Set<FeedClient>();
  private readonly byUser = new Map<string, Set<FeedClient>>();
  private readonly byKey = new Map<string, Set<FeedClient>>();

  get size(): number {
    return this.all.size;
  }

  add(client: FeedClient): void {
    this.all.add(client);
    const { principal } = client;
    if (principal.kind === "api_key") this.tenantWide.add(client);
    const [index, id] = principal.kind === "user" ? [this.byUser, principal.userId] : [this.byKey, principal.apiKeyId];
    let set = index.get(id);
    if (!set) {
      set = new Set();
      index.set(id, set);
    }
    set.add(client);
  }

  remove(client: FeedClient): void {
    this.all.delete(client);
    this.tenantWide.delete(client);
    const { principal } = client;
    const [index, id] = principal.kind === "user" ? [this.byUser, principal.userId] : [this.byKey, principal.apiKeyId];
    const set = index.get(id);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) index.delete(id);
  }

  /** The sockets opened with this user's tokens or with this API key. */
  of(principal: FeedClient["principal"]): ReadonlySet<FeedClient> {
    return (principal.kind === "user" ? this.byUser.get(principal.userId) : this.byKey.get(principal.apiKeyId)) ?? new Set();
  }

  /** The sockets an event about `userId` (null: tenant-wide) goes to. */
  *audience(userId: string | null): Iterable<FeedClient> {
    yield* this.tenantWide;
    if (userId === null) return;
    const users = this.byUser.get(userId);
    if (users) yield* users;
  }
}
