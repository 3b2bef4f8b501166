import { EventEmitter } from "node:events";
import { createLogger } from "@kronos/shared";
import { waitFor } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { stopOnSignals } from "./shutdown.js";

const logger = createLogger("shutdown-test", "silent");

function harness(stop: () => Promise<void>, timeoutMs = 60_000) {
  const signals = new EventEmitter();
  const exits: number[] = [];
  let stops = 0;
  stopOnSignals({
    logger,
    timeoutMs,
    signals: signals as unknown as Pick<NodeJS.Process, "on">,
    exit: (code) => exits.push(code),
    stop: () => {
      stops += 1;
      return stop();
    },
  });
  return { signals, exits, stops: () => stops };
}

describe("stopOnSignals", () => {
  it("stops once on SIGTERM or SIGINT, then exits 0", async () => {
    const h = harness(async () => {});
    h.signals.emit("SIGTERM");
    h.signals.emit("SIGINT");
    await waitFor(() => h.exits.length > 0);
    expect(h.exits).toEqual([0]);
    expect(h.stops()).toBe(1);
  });

  it("exits 1 when stopping fails", async () => {
    const h = harness(async () => {
      throw new Error("redis gone");
    });
    h.signals.emit("SIGINT");
    await waitFor(() => h.exits.length > 0);
    expect(h.exits).toEqual([1]);
  });

  it("exits 1 when stopping outlasts the timeout", async () => {
    const h = harness(() => new Promise(() => {}), 20);
    h.signals.emit("SIGTERM");
    await waitFor(() => h.exits.length > 0);
    expect(h.exits).toEqual([1]);
  });
});
