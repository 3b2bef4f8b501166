import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { lazyChildLogger, loggerOptions, redactUrl } from "./logger.js";

function capture(level = "info") {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino(loggerOptions("test", level), stream), text: () => lines.join("") };
}

describe("logging", () => {
  it("redacts credentials in headers, bodies and nested objects", () => {
    const { logger, text } = capture();
    logger.info({ req: { method: "GET", url: "/x", headers: { authorization: "Bearer kc_secret1" } } }, "request");
    logger.info({ headers: { "x-api-key": "composio-key-2" } }, "outbound");
    logger.info({ body: { credentials: { client_id: "id", client_secret: "client-secret-3" } } }, "auth config");
    logger.info({ job: { token: "kcu.secret4", secret: "whsec-5", access_token: "at-6" } }, "job");
    const out = text();
    for (const secret of ["kc_secret1", "composio-key-2", "client-secret-3", "kcu.secret4", "whsec-5", "at-6"]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain("[Redacted]");
  });

  it("removes the token query parameter from URLs", () => {
    expect(redactUrl("/ws?since=1-0&token=kcu.abc.def")).toBe("/ws?since=1-0&token=[Redacted]");
    expect(redactUrl("/ws?token=kcu.abc&since=1-0")).toBe("/ws?token=[Redacted]&since=1-0");
  });

  it("removes it however its name is spelt, as the query parser reads it", () => {
    expect(redactUrl("/ws?%74oken=kcu.abc.def")).toBe("/ws?%74oken=[Redacted]");
    expect(redactUrl("/ws?since=1&%54%4F%4B%45%4E=kcu.x")).toBe("/ws?since=1&%54%4F%4B%45%4E=[Redacted]");
    expect(redactUrl("/x?API_KEY=kc_1&%zz=keep")).toBe("/x?API_KEY=[Redacted]&%zz=keep");
    expect(redactUrl("/x?tokens=keep")).toBe("/x?tokens=keep");
  });

  it("removes a connection's callback secret (k) from the callback URL", () => {
    const url = "/api/v1/composio/connections/c1/callback?k=s3cr3t&status=success&connected_account_id=ca_1";
    expect(redactUrl(url)).toBe("/api/v1/composio/connections/c1/callback?k=[Redacted]&status=success&connected_account_id=ca_1");
    expect(redactUrl("/api/v1/composio/connections/c1/callback?status=success&%4B=s3cr3t")).toBe(
      "/api/v1/composio/connections/c1/callback?status=success&%4B=[Redacted]",
    );
  });
});

/** Counts the real pino children made from `logger` from now on. */
function countChildren(logger: ReturnType<typeof capture>["logger"]): () => number {
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    children += 1;
    return child(...args);
  }) as typeof logger.child;
  return () => children;
}

describe("lazyChildLogger", () => {
  it("makes the child only when a line is written at an enabled level, with the bindings and redaction", () => {
    const { logger, text } = capture("warn");
    const children = countChildren(logger);

    const lazy = lazyChildLogger(logger, { reqId: "req-1" });
    lazy.info("not written");
    lazy.debug({ a: 1 }, "not written either");
    expect(children()).toBe(0);
    expect(lazy.level).toBe("warn");
    expect(lazy.isLevelEnabled("info")).toBe(false);

    lazy.warn({ headers: { authorization: "Bearer kc_secret" } }, "written");
    lazy.error("again");
    expect(children()).toBe(1);
    const lines = text()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.reqId, line.msg])).toEqual([
      ["req-1", "written"],
      ["req-1", "again"],
    ]);
    expect(text()).not.toContain("kc_secret");
  });

  it("keeps a child of a lazy logger lazy, with both sets of bindings", () => {
    const { logger, text } = capture("warn");
    const children = countChildren(logger);

    const job = lazyChildLogger(logger, { jobId: "j1" });
    const handler = job.child({ executionId: "e1" });
    handler.info("not written");
    expect(children()).toBe(0);
    handler.warn("written");
    expect(children()).toBe(1);
    expect(JSON.parse(text().trim())).toMatchObject({ jobId: "j1", executionId: "e1", msg: "written" });
  });

  it("gives a real child at once for route-level options", () => {
    const { logger, text } = capture("warn");
    const child = lazyChildLogger(logger, { reqId: "req-2" }, { level: "info" });
    child.info("written at the route's level");
    expect(text()).toContain("req-2");
  });
});
