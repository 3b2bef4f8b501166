import type { AddressInfo } from "node:net";
import { createLogger } from "@kronos/shared";
import { type RawAnswer, rawHttp } from "@kronos/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_SECURITY_HEADERS } from "./security-headers.js";
import { createServiceApp } from "./service-app.js";

// The kit's own app over a real socket: every way a request can fail before (or outside) a route answers in our
// shape, with the API's headers, and repeats nothing of the request.
let app: FastifyInstance;
let port: number;
const seen: Array<{ method: string; body: unknown }> = [];

beforeAll(async () => {
  app = createServiceApp({ service: "kit-test", logger: createLogger("kit-test", "silent"), bodyLimit: 1024, requestTimeoutMs: 300 });
  app.post("/things/:id", async (request) => {
    seen.push({ method: request.method, body: request.body });
    return { ok: true };
  });
  app.delete("/things/:id", async (request, reply) => {
    seen.push({ method: request.method, body: request.body });
    return reply.status(204).send();
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app?.close();
});

function expectApiError(answer: RawAnswer, status: number, code: string, secret?: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.headers).toMatchObject(API_SECURITY_HEADERS);
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  if (secret) expect(answer.body).not.toContain(secret);
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`;

describe("router and protocol errors", () => {
  it("a bad percent-escape: 400 in our shape, without the URL", async () => {
    expectApiError(await rawHttp(port, get("/things/%zz-secret-path")), 400, "BAD_REQUEST", "secret-path");
  });

  it("an unknown route: 404 in our shape, without the URL", async () => {
    expectApiError(await rawHttp(port, get("/no-such-secret-route?token=x")), 404, "NOT_FOUND", "no-such-secret-route");
  });

  it("malformed JSON, an unsupported content type, a body over the limit", async () => {
    const post = (type: string, body: string) =>
      `POST /things/1 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    expectApiError(await rawHttp(port, post("application/json", '{"a":')), 400, "BAD_REQUEST");
    expectApiError(await rawHttp(port, post("text/plain", "hello")), 415, "UNSUPPORTED_MEDIA_TYPE");
    expectApiError(await rawHttp(port, post("application/json", JSON.stringify({ a: "x".repeat(2000) }))), 413, "PAYLOAD_TOO_LARGE");
  });

  it("a request whose headers never finish arriving: 408 in our shape", async () => {
    expectApiError(await rawHttp(port, "GET /things/1 HTTP/1.1\r\nhost: localhost\r\nx-slow: a"), 408, "REQUEST_TIMEOUT");
  });

  it("headers too large, and bytes that are not HTTP", async () => {
    const huge = `GET /things HTTP/1.1\r\nhost: localhost\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`;
    expectApiError(await rawHttp(port, huge), 431, "HEADERS_TOO_LARGE");
    expectApiError(await rawHttp(port, "HELLO THERE\r\n\r\n"), 400, "BAD_REQUEST");
  });
});

describe("an empty body with Content-Type: application/json (what axios in Node sends)", () => {
  it("is no body, on POST and DELETE, over a real socket", async () => {
    seen.length = 0;
    const headers = { "content-type": "application/json" };
    const posted = await fetch(`http://127.0.0.1:${port}/things/1`, { method: "POST", headers });
    expect(posted.status).toBe(200);
    const deleted = await fetch(`http://127.0.0.1:${port}/things/1`, { method: "DELETE", headers });
    expect(deleted.status).toBe(204);
    expect(seen).toEqual([
      { method: "POST", body: undefined },
      { method: "DELETE", body: undefined },
    ]);
  });

  it("still parses a JSON body, and still refuses a poisoned one", async () => {
    const send = (body: string) =>
      fetch(`http://127.0.0.1:${port}/things/1`, { method: "POST", headers: { "content-type": "application/json" }, body });
    seen.length = 0;
    expect((await send('{"a":1}')).status).toBe(200);
    expect(seen).toEqual([{ method: "POST", body: { a: 1 } }]);
    const poisoned = await send('{"__proto__":{"admin":true}}');
    expect(poisoned.status).toBe(400);
    expect(((await poisoned.json()) as { error: { code: string } }).error.code).toBe("BAD_REQUEST");
  });
});
