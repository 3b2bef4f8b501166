import { connect, createServer, type Server, type Socket } from "node:net";

export type ProxyMode = "pass" | "refuse" | "blackhole";

/**
 * A TCP proxy in front of a server (Postgres, Redis) that a test can cut: `refuse()` closes its port (new connections
 * are refused, open ones reset), `blackhole()` keeps every connection open but forwards nothing either way (a network
 * partition: the client waits for an answer that never comes), `restore()` forwards again.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private mode: ProxyMode = "pass";
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  /** The target's URL with the proxy's host and port in its place. */
  static forUrl(url: string): { proxy: TcpProxy; url: (port: number) => string } {
    const parsed = new URL(url);
    const defaultPort = parsed.protocol.startsWith("redis") ? 6379 : 5432;
    const proxy = new TcpProxy({ host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || defaultPort) });
    return {
      proxy,
      url: (port: number) => {
        const copy = new URL(url);
        copy.hostname = "127.0.0.1";
        copy.port = String(port);
        return copy.toString();
      },
    };
  }

  get current(): ProxyMode {
    return this.mode;
  }

  async start(): Promise<number> {
    await this.listen(this.listenPort);
    return this.port;
  }

  refuse(): Promise<void> {
    this.mode = "refuse";
    for (const pair of this.pairs) this.drop(pair);
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  blackhole(): void {
    this.mode = "blackhole";
  }

  async restore(): Promise<void> {
    const wasRefusing = this.mode === "refuse";
    this.mode = "pass";
    if (wasRefusing) await this.listen(this.port);
    // Connections that lived through a blackhole carry a conversation that lost bytes: reset them.
    for (const pair of this.pairs) if ((pair as { dirty?: boolean }).dirty) this.drop(pair);
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        this.port = typeof address === "object" && address ? address.port : port;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    const pair: { client: Socket; upstream: Socket; dirty?: boolean } = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        if (this.mode === "pass") to.write(chunk);
        else pair.dirty = true; // blackholed: the bytes are lost
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => this.drop(pair);
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  }

  private drop(pair: { client: Socket; upstream: Socket }): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
