import type { GatewayContext } from "../context.js";

export interface DependencyHealth {
  ok: boolean;
  latency_ms?: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 2_000;
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function isLoopbackUrl(value: string): boolean {
  try {
    const host = new URL(value).hostname;
    return LOOPBACK_HOSTS.has(host) || host.startsWith("127.") || host.endsWith(".localhost");
  } catch {
    return false;
  }
}

/** The seed's health answer plus what Postgres, Redis and Composio each say. Never includes the Composio key. */
export async function checkHealth(ctx: GatewayContext) {
  const { config } = ctx;
  const emulator = isLoopbackUrl(config.COMPOSIO_BASE_URL);
  const configured = Boolean(config.COMPOSIO_API_KEY);
  const [postgres, redis, composio] = await Promise.all([
    probe(async () => {
      await ctx.prisma.$queryRaw`SELECT 1`;
    }),
    probe(async () => {
      await ctx.redis.ping();
    }),
    probe(() => pingComposio(config.COMPOSIO_BASE_URL, config.COMPOSIO_API_KEY)),
  ]);
  const message = !configured ? "COMPOSIO_API_KEY is not set" : emulator ? "Composio is configured (emulator)" : "Composio is configured";
  return {
    ok: postgres.ok && redis.ok && composio.ok,
    body: { configured, message, emulator, dependencies: { postgres, redis, composio } },
  };
}

async function pingComposio(baseUrl: string, apiKey: string): Promise<void> {
  const url = `${baseUrl.replace(/\/+$/, "")}/api/v3/toolkits?limit=1`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { "x-api-key": apiKey }, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  } catch (error) {
    throw new Error((error as Error).name === "TimeoutError" ? "timed out" : "unreachable");
  }
  await response.body?.cancel();
  if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
}

/** Runs a check with a deadline; the error it reports is a short phrase of ours, never the driver's message. */
async function probe(check: () => Promise<void>): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), deadline]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    const message = (error as Error).message;
    return {
      ok: false,
      latency_ms: Math.round(performance.now() - started),
      error: SAFE_ERRORS.has(message) || message.startsWith("answered HTTP") ? message : "check failed",
    };
  } finally {
    clearTimeout(timer);
  }
}

const SAFE_ERRORS = new Set(["timed out", "unreachable"]);
