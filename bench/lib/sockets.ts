// WebSocket clients of the feed (ours: /ws?token= or an API key header; the bare baseline: /ws?user=).
import WebSocket from "ws";
import { bounded } from "./load.ts";

export interface SocketSpec {
  url: string;
  headers?: Record<string, string>;
}

export function openSocket(spec: SocketSpec, onMessage: (data: string, at: number) => void): Promise<WebSocket> {
  const socket = new WebSocket(spec.url, { headers: spec.headers ?? {}, perMessageDeflate: false });
  socket.on("message", (raw) => onMessage(String(raw), performance.now()));
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`WebSocket refused: HTTP ${response.statusCode}`)));
  });
}

/** Opens many sockets, `concurrency` handshakes at a time. */
export async function openSockets(
  specs: SocketSpec[],
  onMessage: (index: number, data: string, at: number) => void,
  concurrency = 64,
): Promise<WebSocket[]> {
  return bounded(specs.length, concurrency, (i) => openSocket(specs[i]!, (data, at) => onMessage(i, data, at)));
}

export async function closeSockets(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.readyState === WebSocket.CLOSED) return resolve();
          s.once("close", () => resolve());
          s.terminate();
        }),
    ),
  );
}

export const wsUrl = (httpUrl: string, path: string) => `${httpUrl.replace(/^http/, "ws")}${path}`;
