import { readFileSync } from "node:fs";
import { EVENT_DATA_SCHEMAS, EVENT_TYPES } from "@kronos/shared";
import { describe, expect, it } from "vitest";

// docs/events.md shows each event's JSON; this keeps the examples true to the schemas clients are promised.
const markdown = readFileSync(new URL("../docs/events.md", import.meta.url), "utf8");
const examples = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)]
  .map((match) => JSON.parse(match[1]!) as { type: string; id: string; ts: string; data: unknown })
  .filter((example) => example.type !== "<event type>");

describe("docs/events.md", () => {
  it("shows one example for every event type", () => {
    expect(examples.map((e) => e.type).sort()).toEqual(Object.values(EVENT_TYPES).sort());
  });

  for (const example of examples) {
    it(`${example.type}: the example's data matches its schema`, () => {
      const schema = EVENT_DATA_SCHEMAS[example.type as keyof typeof EVENT_DATA_SCHEMAS];
      expect(schema.safeParse(example.data).error).toBeUndefined();
      expect(example.id).toMatch(/^\d+-\d+$/);
      expect(Number.isNaN(Date.parse(example.ts))).toBe(false);
    });
  }
});
