import { decodeBusMessage, eventKeys, type Redis, toFeedEvent } from "@kronos/shared";
import type { FastifyBaseLogger } from "fastify";
import type { FeedClient } from "./client.js";
import { CLOSE_CODES } from "./protocol.js";
import { TenantSockets } from "./tenant-sockets.js";

export interface HubStats {
  sockets: number;
  tenants: number;
  /** Sockets closed by us, by close code (4001, 4008, 1001, ...), and terminated for a missed heartbeat. */
  closedByCode: Record<number, number>;
  heartbeatTerminations: number;
  /** Times the subscriber reconnected and the sockets caught up from the streams. */
  recoveries: number;
}

/**
 * The process's fan-out: ONE subscriber connection on the events channel for the whole process, and a registry
 * tenant -> sockets. Each channel message is decoded and serialised once, then handed to the tenant's sockets that
 * may see it (API-key sockets: all; user sockets: their user's).
 */
export class FeedHub {
  private readonly byTenant = new Map<string, TenantSockets>();
  private readonly channel: string;
  private heartbeat: NodeJS.Timeout | undefined;
  /** The sockets of the current heartbeat round, and the next to visit. */
  private round: { pending: Set<FeedClient>; perTick: number; startedAt: number } = { pending: new Set(), perTick: 0, startedAt: 0 };
  /** Heartbeat ticks: 20 per interval, at most 250 ms apart. */
  private readonly heartbeatTickMs: number;
  private recoveries = 0;
  private readonly counters = { closedByCode: {} as Record<number, number>, heartbeatTerminations: 0 };
  private readonly onMessage = (channel: string, message: string) => this.dispatch(channel, message);
  private connectionLost = false;
  private readonly onConnectionClosed = () => {
    this.connectionLost = true;
  };
  private readonly onReady = () => {
    if (!this.connectionLost) return;
    this.connectionLost = false;
    this.recover().catch((error: unknown) => this.log.error({ err: error }, "feed recovery after a Redis reconnect failed"));
  };

  constructor(
    private readonly subscriber: Redis,
    prefix: string,
    private readonly log: FastifyBaseLogger,
    private readonly heartbeatIntervalMs: number,
    /** Replays a held client's stream from its cursor, then sends it live again (see replayAndGoLive). */
    private readonly catchUp: (client: FeedClient) => Promise<void>,
    /** Called once per channel event with the number of sockets it was sent to (live sends only), for counters. */
    private readonly onDelivered: (count: number) => void = () => {},
  ) {
    this.channel = eventKeys(prefix).channel;
    this.heartbeatTickMs = Math.max(1, Math.min(250, Math.floor(heartbeatIntervalMs / 20)));
  }

  /** Subscribes (resolves once Redis confirmed) and starts the heartbeats. */
  async start(): Promise<void> {
    this.subscriber.on("message", this.onMessage);
    this.subscriber.on("close", this.onConnectionClosed);
    this.subscriber.on("ready", this.onReady);
    await this.subscriber.subscribe(this.channel);
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatTickMs);
    this.heartbeat.unref();
  }

  add(client: FeedClient): void {
    let sockets = this.byTenant.get(client.tenantId);
    if (!sockets) {
      sockets = new TenantSockets();
      this.byTenant.set(client.tenantId, sockets);
    }
    sockets.add(client);
  }

  remove(client: FeedClient): void {
    this.round.pending.delete(client);
    const sockets = this.byTenant.get(client.tenantId);
    if (!sockets) return;
    sockets.remove(client);
    if (sockets.size === 0) this.byTenant.delete(client.tenantId);
  }

  countServerClose(code: number): void {
    this.counters.closedByCode[code] = (this.counters.closedByCode[code] ?? 0) + 1;
  }

  stats(): HubStats {
    let sockets = 0;
    for (const tenant of this.byTenant.values()) sockets += tenant.size;
    return {
      sockets,
      tenants: this.byTenant.size,
      closedByCode: { ...this.counters.closedByCode },
      heartbeatTerminations: this.counters.heartbeatTerminations,
      recoveries: this.recoveries,
    };
  }

  /** Closes the sockets opened with a revoked API key (4003). */
  closeApiKey(tenantId: string, apiKeyId: string): number {
    const sockets = [...(this.byTenant.get(tenantId)?.of({ kind: "api_key", tenantId, apiKeyId, scopes: [] }) ?? [])];
    for (const client of sockets) client.close(CLOSE_CODES.credentialRevoked, "API key revoked");
    return sockets.length;
  }

  /** Closes every socket with 1001 (shutdown). */
  closeAll(): void {
    for (const tenant of this.byTenant.values()) {
      for (const client of tenant.all) client.close(CLOSE_CODES.goingAway, "server shutting down");
    }
  }

  /** Stops the heartbeats and unsubscribes; the subscriber connection itself belongs to whoever created it. */
  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.subscriber.off("message", this.onMessage);
    this.subscriber.off("close", this.onConnectionClosed);
    this.subscriber.off("ready", this.onReady);
    if (this.subscriber.status === "ready") await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  /**
   * The subscriber was disconnected: whatever was published meanwhile never reached us. Once subscribed again, every
   * socket catches up from its cursor in its tenant's stream (live events are held meanwhile, so none is lost or
   * doubled).
   */
  private async recover(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
    this.recoveries += 1;
    const clients = [...this.byTenant.values()].flatMap((tenant) => [...tenant.all]).filter((client) => !client.isClosed);
    this.log.warn({ sockets: clients.length }, "events subscriber reconnected: catching sockets up from the streams");
    await Promise.all(
      clients.map(async (client) => {
        if (!client.isLive) {
          client.requestCatchUp(); // its start is still reading the stream
          return;
        }
        client.hold();
        try {
          await this.catchUp(client);
        } catch (error) {
          this.log.error({ err: error }, "feed catch-up failed");
          client.close(CLOSE_CODES.internalError, "internal error");
        }
      }),
    );
  }

  private dispatch(channel: string, message: string): void {
    if (channel !== this.channel) return;
    const decoded = decodeBusMessage(message);
    if (!decoded) {
      this.log.warn("ignored a malformed event bus message");
      return;
    }
    const sockets = this.byTenant.get(decoded.tenantId);
    if (!sockets) return;
    // Serialised and UTF-8 encoded once per event (ws would encode a string again for every socket), counted once.
    const { id, userId } = decoded;
    let payload: Buffer | undefined;
    let delivered = 0;
    for (const client of sockets.audience(userId)) {
      payload ??= Buffer.from(JSON.stringify(toFeedEvent(decoded)), "utf8");
      if (client.offer(id, payload)) delivered += 1;
    }
    if (delivered > 0) this.onDelivered(delivered);
  }

  /**
   * One slice of the heartbeat round: every socket is visited once per interval, but a few at a time, in ticks spread
   * over the interval, rather than all at once (pinging 10,000 sockets in one go holds the event loop for tens of
   * milliseconds, and every event waiting meanwhile is that late). A visit terminates a socket that did not answer
   * the previous ping, and pings the others. A socket removed meanwhile leaves the round at once (nothing holds it).
   */
  private beat(): void {
    if (this.round.pending.size === 0) {
      // A new round at most once per interval: a socket is never pinged twice within one.
      if (Date.now() - this.round.startedAt < this.heartbeatIntervalMs) return;
      const pending = new Set<FeedClient>();
      for (const tenant of this.byTenant.values()) for (const client of tenant.all) pending.add(client);
      const perTick = Math.ceil((pending.size * this.heartbeatTickMs) / this.heartbeatIntervalMs);
      this.round = { pending, perTick, startedAt: Date.now() };
    }
    let visits = 0;
    for (const client of this.round.pending) {
      if (visits++ >= this.round.perTick) break;
      this.round.pending.delete(client);
      if (client.isClosed) continue;
      if (!client.alive) {
        this.counters.heartbeatTerminations += 1;
        this.log.info({ tenantId: client.tenantId }, "terminated a feed socket that missed a heartbeat");
        client.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }
}
