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

  get size(): number {
    return this.all.size;
  }

  add(client: FeedClient): void {
    this.all.add(client);
    const userId = client.principal.kind === "user" ? client.principal.userId : null;
    if (userId === null) {
      this.tenantWide.add(client);
      return;
    }
    let set = this.byUser.get(userId);
    if (!set) {
      set = new Set();
      this.byUser.set(userId, set);
    }
    set.add(client);
  }

  remove(client: FeedClient): void {
    this.all.delete(client);
    this.tenantWide.delete(client);
    if (client.principal.kind !== "user") return;
    const set = this.byUser.get(client.principal.userId);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) this.byUser.delete(client.principal.userId);
  }

  /** The sockets an event about `userId` (null: tenant-wide) goes to. */
  *audience(userId: string | null): Iterable<FeedClient> {
    yield* this.tenantWide;
    if (userId === null) return;
    const users = this.byUser.get(userId);
    if (users) yield* users;
  }
}
