import { AppError, composioUserId } from "@kronos/shared";
import { testConfig } from "@kronos/testing";
import { describe, expect, it } from "vitest";
import { feedOptionsFromConfig, MAX_PENDING_EVENTS } from "./app.js";
import { parseEnvelope, tenantIdOf } from "./composio-webhook.js";
import { typeLabel } from "./metrics.js";

const TENANT = "0b6f8a52-3c1e-4d2a-9f7b-5e8c1d2a3b4c";
const raw = (value: unknown) => Buffer.from(JSON.stringify(value));

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).code;
  }
  return "accepted";
}

describe("feedOptionsFromConfig", () => {
  it("takes the feed's tunables from the WS_* variables", () => {
    const config = testConfig({
      WS_HEARTBEAT_INTERVAL_MS: "1234",
      WS_MAX_BUFFERED_BYTES: "2048",
      WS_MAX_MESSAGE_BYTES: "512",
      WS_SNAPSHOT_LIMIT: "7",
      WS_MAX_SOCKETS_PER_USER: "3",
      WS_MAX_SOCKETS_PER_API_KEY: "9",
      WS_SOCKET_LEASE_MS: "4500",
    });
    expect(feedOptionsFromConfig(config)).toEqual({
      heartbeatIntervalMs: 1234,
      maxBufferedBytes: 2048,
      maxInboundBytes: 512,
      snapshotLimit: 7,
      maxSocketsPerUser: 3,
      maxSocketsPerApiKey: 9,
      socketLeaseMs: 4500,
      maxPendingEvents: MAX_PENDING_EVENTS,
    });
  });

  it("has the documented defaults", () => {
    expect(feedOptionsFromConfig(testConfig())).toMatchObject({
      heartbeatIntervalMs: 25_000,
      maxBufferedBytes: 1_048_576,
      maxInboundBytes: 4096,
      snapshotLimit: 1000,
    });
  });
});

describe("parseEnvelope", () => {
  it("returns a V3 envelope whose id is the webhook id", () => {
    const envelope = { id: "msg_1", type: "composio.trigger.message", metadata: {}, data: { a: 1 } };
    expect(parseEnvelope(raw(envelope), "msg_1")).toEqual(envelope);
  });

  it("refuses what is not one, with VALIDATION_FAILED", () => {
    const cases: Array<[Buffer, string]> = [
      [Buffer.from("not json"), "msg_1"],
      [raw([1]), "msg_1"],
      [raw(null), "msg_1"],
      [raw({ id: "msg_2", type: "t", data: {} }), "msg_1"],
      [raw({ id: "msg_1", type: "", data: {} }), "msg_1"],
      [raw({ id: "msg_1", data: {} }), "msg_1"],
      [raw({ id: "msg_1", type: "t" }), "msg_1"],
      [raw({ id: "msg_1", type: "t", data: null }), "msg_1"],
      // Ids that cannot be BullMQ job ids.
      [raw({ id: "12345", type: "t", data: {} }), "12345"],
      [raw({ id: "a:b", type: "t", data: {} }), "a:b"],
    ];
    for (const [body, id] of cases)
      expect(
        refusal(() => parseEnvelope(body, id)),
        body.toString(),
      ).toBe("VALIDATION_FAILED");
  });
});

describe("tenantIdOf", () => {
  it("reads our tenant from metadata.user_id, then data.user_id", () => {
    const user = composioUserId(TENANT, "alice");
    expect(tenantIdOf({ id: "m", type: "t", metadata: { user_id: user }, data: {} })).toBe(TENANT);
    expect(tenantIdOf({ id: "m", type: "t", metadata: {}, data: { user_id: user } })).toBe(TENANT);
  });

  it("is null when no user id is ours", () => {
    expect(tenantIdOf({ id: "m", type: "t", data: {} })).toBeNull();
    expect(tenantIdOf({ id: "m", type: "t", data: { user_id: "alice" } })).toBeNull();
    expect(tenantIdOf({ id: "m", type: "t", data: { user_id: `${"x".repeat(36)}:alice` } })).toBeNull();
    expect(tenantIdOf({ id: "m", type: "t", data: "text" })).toBeNull();
  });
});

describe("typeLabel", () => {
  it("keeps Composio's event types and folds anything else into other", () => {
    expect(typeLabel("composio.connected_account.expired")).toBe("composio.connected_account.expired");
    expect(typeLabel("something")).toBe("other");
    expect(typeLabel(`composio.${"a".repeat(200)}`)).toBe("other");
    expect(typeLabel(undefined)).toBe("other");
  });
});
