import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { type AddressPolicy, resolveTarget, UnsafeTargetError } from "@kronos/shared";

/** At most this much of an answer is read; the rest is dropped with the connection. */
export const MAX_RESPONSE_BYTES = 4_096;

export type PostOutcome =
  | { kind: "response"; status: number; retryAfter: string | undefined; latencyMs: number }
  | { kind: "network"; reason: string; latencyMs: number }
  | { kind: "refused"; reason: string; latencyMs: number };

// Keep-alive: at hundreds of events a second, a new TCP (and TLS) connection per delivery would dominate.
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 }),
};

/**
 * POSTs a webhook to the address its host resolves to *now*, checked against the policy (a host that resolved to a
 * public address when the endpoint was created may resolve elsewhere since): the socket connects to the checked
 * address, never to a second lookup's answer. Redirects are not followed (node's http never does); the whole
 * attempt, from lookup to the answer's end, has `timeoutMs`.
 */
export async function postWebhook(
  target: URL,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; policy: AddressPolicy },
): Promise<PostOutcome> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  let resolved: Awaited<ReturnType<typeof resolveTarget>>;
  try {
    resolved = await resolveTarget(target.hostname, options.policy);
  } catch (error) {
    if (error instanceof UnsafeTargetError) return { kind: "refused", reason: error.message, latencyMs: latencyMs() };
    throw error;
  }
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [{ address: resolved.address, family: resolved.family }]);
    else callback(null, resolved.address, resolved.family);
  };
  const client = target.protocol === "https:" ? https : http;
  const agent = agents[target.protocol as "http:" | "https:"];
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const request = client.request(
      target,
      {
        method: "POST",
        agent,
        lookup,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "KronosConnect-Webhooks/1.0",
        },
      },
      (response) => {
        let read = 0;
        const done = () =>
          finish({
            kind: "response",
            status: response.statusCode ?? 0,
            retryAfter: header(response.headers["retry-after"]),
            latencyMs: latencyMs(),
          });
        response.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) {
            // Enough: the status is known, the body is not needed; this connection is not reused.
            done();
            response.destroy();
          }
        });
        response.on("end", done);
        response.on("error", done);
        response.on("close", done);
      },
    );
    const timer = setTimeout(
      () => {
        request.destroy();
        finish({ kind: "network", reason: `timed out after ${options.timeoutMs} ms`, latencyMs: latencyMs() });
      },
      options.timeoutMs - Math.min(options.timeoutMs - 1, latencyMs()),
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      finish({ kind: "network", reason: error.code ?? error.message, latencyMs: latencyMs() });
    });
    request.end(body);
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
