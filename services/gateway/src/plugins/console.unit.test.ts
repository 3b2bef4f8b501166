import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorsPlugin } from "@kronos/service-kit";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_PATH, consoleContentSecurityPolicy, consolePlugin, IMMUTABLE_ASSET, REVALIDATE } from "./console.js";
import { securityPlugin } from "./security.js";

// The gateway's side of the console: a built console is stood in for by two files; the headers are the point.

const FEED_URL = "ws://127.0.0.1:8001/ws";
let dist: string;

async function gateway(distDir: string): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(errorsPlugin);
  await app.register(securityPlugin, { corsOrigins: "" });
  await app.register(consolePlugin, { distDir, feedUrl: FEED_URL });
  await app.ready();
  return app;
}

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), "console-dist-"));
  mkdirSync(join(dist, "assets"));
  writeFileSync(join(dist, "index.html"), '<!doctype html><script type="module" src="/console/assets/index-abc123.js"></script>');
  writeFileSync(join(dist, "assets", "index-abc123.js"), "console.log(1)");
});
afterAll(() => rmSync(dist, { recursive: true, force: true }));

describe("the console's policy", () => {
  it("allows only our own scripts and styles, and the API and the feed's origin to connect to", () => {
    const policy = consoleContentSecurityPolicy(FEED_URL);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).toContain("connect-src 'self' ws://127.0.0.1:8001");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toMatch(/unsafe|\*/);
  });
});

describe("GET /console", () => {
  it("serves index.html to revalidate and hashed assets as immutable, with the console's CSP instead of helmet's", async () => {
    const app = await gateway(dist);
    const index = await app.inject({ method: "GET", url: `${CONSOLE_PATH}/` });
    expect(index.statusCode).toBe(200);
    expect(index.headers["cache-control"]).toBe(REVALIDATE);
    expect(index.headers["content-security-policy"]).toBe(consoleContentSecurityPolicy(FEED_URL));
    expect(index.headers["x-content-type-options"]).toBe("nosniff");
    const asset = await app.inject({ method: "GET", url: `${CONSOLE_PATH}/assets/index-abc123.js` });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["cache-control"]).toBe(IMMUTABLE_ASSET);
    expect((await app.inject({ method: "GET", url: CONSOLE_PATH })).headers.location).toBe(`${CONSOLE_PATH}/`);
    expect((await app.inject({ method: "GET", url: `${CONSOLE_PATH}/nope.js` })).statusCode).toBe(404);
    await app.close();
  });

  it("tells the console where the feed is, never cached", async () => {
    const app = await gateway(dist);
    const config = await app.inject({ method: "GET", url: `${CONSOLE_PATH}/config.json` });
    expect(config.json()).toEqual({ feed_url: FEED_URL });
    expect(config.headers["cache-control"]).toBe("no-store");
    await app.close();
  });

  it("answers 503 with our error body when the console was not built", async () => {
    const app = await gateway(join(dist, "missing"));
    const page = await app.inject({ method: "GET", url: `${CONSOLE_PATH}/` });
    expect(page.statusCode).toBe(503);
    expect(page.json()).toMatchObject({ error: { code: "UNAVAILABLE" } });
    await app.close();
  });
});
