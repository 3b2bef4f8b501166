// Load generators: autocannon for closed-loop HTTP (every response time kept, fractional ms from autocannon's own
// hrtime, not its whole-millisecond histogram), a bounded-concurrency runner for N requests, and an open-loop pacer.
import http from "node:http";
import autocannon from "autocannon";

export interface HttpLoadResult {
  requests: number;
  rps: number;
  latencies: number[];
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
}

export interface HttpLoadOptions {
  url: string;
  method?: "POST" | "GET";
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
}

/** One closed-loop run of `options.seconds`; with record false (a warm-up) no response is kept. */
export async function httpLoad(options: HttpLoadOptions, record = true): Promise<HttpLoadResult> {
  const seconds = options.seconds;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const instance = autocannon({
    url: options.url,
    method: options.method ?? "POST",
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    connections: options.connections,
    duration: seconds,
  });
  if (record) {
    instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  }
  const t0 = performance.now();
  const result = await instance;
  const elapsed = (performance.now() - t0) / 1000;
  return {
    requests: latencies.length,
    rps: latencies.length / elapsed,
    latencies,
    statuses,
    errors: result.errors + result.timeouts,
    seconds: elapsed,
  };
}

/** Runs `total` tasks with at most `concurrency` at once; returns their results in order. */
export async function bounded<T>(total: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return out;
}

/**
 * Open loop: calls `send(i)` at `perSecond` for `seconds`, on schedule whether or not earlier sends finished (a
 * late timer sends what is due at once). Resolves when every send has settled.
 */
export async function paced(
  perSecond: number,
  seconds: number,
  send: (i: number) => Promise<unknown>,
): Promise<{ sent: number; failed: number }> {
  const total = Math.round(perSecond * seconds);
  const interval = 1000 / perSecond;
  const t0 = performance.now();
  const pending: Array<Promise<unknown>> = [];
  let failed = 0;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
      while (i < due) {
        pending.push(
          send(i).catch(() => {
            failed += 1;
          }),
        );
        i += 1;
      }
      if (i >= total) resolve();
      else setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  return { sent: total, failed };
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * POSTs a body with node:http over kept-alive connections; resolves the status and the body.
 * The generators use it rather than fetch: it costs the generator a fraction of the CPU, which it shares with the
 * services on the same cores.
 */
export function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { method: "POST", agent: keepAlive, headers: { ...headers, "content-length": Buffer.byteLength(body) } };
    const request = http.request(url, options, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}
