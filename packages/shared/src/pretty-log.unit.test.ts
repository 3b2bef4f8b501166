import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { formatLogLine } from "./pretty-log.js";

describe("pretty log lines", () => {
  it("formats pino's JSON as one readable line, with the error's stack below", () => {
    const line = JSON.stringify({
      level: "info",
      time: "2026-11-30T12:03:04.567Z",
      service: "gateway",
      msg: "request completed",
      req: { method: "GET", url: "/health" },
      res: { statusCode: 200 },
      responseTime: 1.42,
      reqId: "r1",
    });
    expect(formatLogLine(line)).toBe("12:03:04.567  INFO   gateway  request completed  GET /health  200  1.4ms  reqId=r1");
    const failed = formatLogLine(
      JSON.stringify({ level: "error", service: "worker", msg: "boom", err: { stack: "Error: boom\n    at x" } }),
    );
    expect(failed).toBe("ERROR  worker  boom\n    Error: boom\n        at x");
    expect(formatLogLine("not json\n")).toBe("not json");
  });

  it("is chosen by LOG_FORMAT, or by whether the output is a terminal", () => {
    const capture = (isTTY: boolean) => {
      const lines: string[] = [];
      return { lines, stream: { isTTY, write: (text: string) => lines.push(text) } };
    };
    const tty = capture(true);
    createLogger("t", "info", { stream: tty.stream }).info("hello");
    expect(tty.lines[0]).toMatch(/INFO.*hello/);
    expect(tty.lines[0]).not.toMatch(/^\{/);
    const pipe = capture(false);
    createLogger("t", "info", { stream: pipe.stream }).info("hello");
    expect(JSON.parse(pipe.lines[0] ?? "")).toMatchObject({ level: "info", msg: "hello", service: "t" });
    const forcedJson = capture(true);
    createLogger("t", "info", { stream: forcedJson.stream, format: "json" }).info("hello");
    expect(JSON.parse(forcedJson.lines[0] ?? "")).toMatchObject({ msg: "hello" });
    const forcedPretty = capture(false);
    createLogger("t", "info", { stream: forcedPretty.stream, format: "pretty" }).info("hello");
    expect(forcedPretty.lines[0]).toMatch(/INFO.*hello/);
  });
});
