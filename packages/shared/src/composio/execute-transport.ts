import http from "node:http";
import https from "node:https";
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "@composio/client";

// Composio's tool execution, `POST /api/v3.1/tools/execute/{tool_slug}`, is the one Composio call on an agent's hot
// path (every execution makes it). It goes over node:http(s) with a keep-alive agent instead of the SDK's `fetch`: in
// the worker, the SDK's request building and response handling plus `fetch`'s streams cost about 1.5 ms of CPU per
// call on our machines against a network round trip of 0.4 ms (bench/README.md, P7). What it sends is what the SDK
// sends for `tools.execute` (the same path, the `x-api-key` header, a JSON body), and what it throws are the SDK's own
// error classes, so that `toComposioError` classifies both the same way. Every other operation uses the SDK.

export interface ExecuteTransportOptions {
  apiKey: string;
  /** Origin of the API, as for the SDK (the path /api/v3.1/... is added). */
  baseUrl: string;
  timeoutMs: number;
}

/** Posts `body` as JSON to Composio's execute endpoint for `toolSlug`; resolves with the parsed 2xx body. */
export type ExecuteTransport = (toolSlug: string, body: Record<string, unknown>) => Promise<unknown>;

export function createExecuteTransport(options: ExecuteTransportOptions): ExecuteTransport {
  const base = new URL(options.baseUrl);
  const client = base.protocol === "https:" ? https : http;
  // Idle sockets close after 4 s (as undici's fetch, which the SDK uses, does) or sooner when the server's Keep-Alive
  // header says so, and the most recently used one is taken first: a request is not sent on a socket the server is
  // closing (that would end in a reset, an unknown outcome for a tool that is not read-only).
  // Sockets are not capped here: the worker's concurrency bounds the calls in flight.
  const agent = new client.Agent({ keepAlive: true, timeout: 4_000, scheduling: "lifo" });
  const basePath = base.pathname.replace(/\/+$/, "");

  return (toolSlug, body) =>
    new Promise<unknown>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const request = client.request(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port,
          path: `${basePath}/api/v3.1/tools/execute/${encodeURIComponent(toolSlug)}`,
          method: "POST",
          agent,
          headers: {
            "x-api-key": options.apiKey,
            "content-type": "application/json",
            accept: "application/json",
            "content-length": payload.length,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error) => fail(new APIConnectionError({ message: `Connection error: ${error.message}`, cause: error })));
          // The connection closed before the whole answer came (whatever error, if any, was reported with it).
          response.on("close", () => {
            if (!response.complete) fail(new APIConnectionError({ message: "Connection error: the answer was cut off" }));
          });
          response.on("end", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve(JSON.parse(text));
              } catch (error) {
                reject(error); // a SyntaxError: toComposioError calls it an unreadable response
              }
              return;
            }
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            reject(APIError.generate(status, json as object | undefined, json === undefined ? text : undefined, headersOf(response)));
          });
        },
      );
      // One deadline for the whole exchange, as the SDK's `timeout`.
      const timer = setTimeout(() => {
        fail(new APIConnectionTimeoutError());
        request.destroy();
      }, options.timeoutMs);
      request.on("error", (error: NodeJS.ErrnoException) =>
        // The code (ECONNREFUSED, ENOTFOUND...) says whether the request can have reached Composio at all.
        fail(new APIConnectionError({ message: `Connection error: ${error.code ?? error.message}`, cause: error })),
      );
      request.end(payload);
    });
}

function headersOf(response: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    headers.append(response.rawHeaders[i] as string, response.rawHeaders[i + 1] as string);
  }
  return headers;
}
