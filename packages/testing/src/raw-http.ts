import { connect } from "node:net";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `request` as it is over a new TCP connection and reads the answer until the server closes it or its body is
 * complete: for what clients cannot send (a bad percent-escape, a request that never ends, garbage).
 */
export async function rawHttp(port: number, request: string, { endAfterWrite = false } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine = "", ...lines] = text.slice(0, headEnd).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = text.slice(headEnd + 4);
      if (headers["content-length"]) body = Buffer.from(body).subarray(0, Number(headers["content-length"])).toString("utf8");
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
      socket.destroy();
    };
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString("utf8");
      const headEnd = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headEnd))?.[1];
      if (headEnd >= 0 && length !== undefined && Buffer.byteLength(text) - Buffer.byteLength(text.slice(0, headEnd + 4)) >= Number(length))
        finish();
    });
    socket.on("end", finish);
    socket.on("error", (error) => (chunks.length > 0 ? finish() : reject(error)));
    socket.write(request);
    if (endAfterWrite) socket.end();
  });
}
