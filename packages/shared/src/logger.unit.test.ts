import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loggerOptions, redactUrl } from "./logger.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino(loggerOptions("test", "info"), stream), text: () => lines.join("") };
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
});
