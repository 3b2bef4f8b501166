import { describe, expect, it } from "vitest";
import { actionOfToolName, LLM_TOOL_NAME_PATTERN, llmToolName, toLlmTool, toParametersSchema } from "./llm-tools.js";

describe("llmToolName", () => {
  it("is the slug itself up to 64 characters", () => {
    expect(llmToolName("GMAIL_SEND_EMAIL")).toBe("GMAIL_SEND_EMAIL");
    const sixtyFour = `A${"_B".repeat(31)}X`;
    expect(sixtyFour).toHaveLength(64);
    expect(llmToolName(sixtyFour)).toBe(sixtyFour);
  });

  it("shortens longer slugs to 64 valid characters, distinct for slugs sharing their first 53, and maps back", () => {
    const long1 = `GOOGLESHEETS_${"VERY_LONG_ACTION_NAME_".repeat(4)}ONE`;
    const long2 = `GOOGLESHEETS_${"VERY_LONG_ACTION_NAME_".repeat(4)}TWO`;
    const [n1, n2] = [llmToolName(long1), llmToolName(long2)];
    for (const name of [n1, n2]) {
      expect(name).toHaveLength(64);
      expect(name).toMatch(LLM_TOOL_NAME_PATTERN);
    }
    expect(n1).not.toBe(n2);
    expect(actionOfToolName(n1, [long2, long1, "GMAIL_SEND_EMAIL"])).toBe(long1);
    expect(actionOfToolName("GMAIL_SEND_EMAIL", [long1, "GMAIL_SEND_EMAIL"])).toBe("GMAIL_SEND_EMAIL");
    expect(actionOfToolName("NOPE", [long1])).toBeNull();
  });
});

describe("toParametersSchema", () => {
  it("keeps standard keywords, drops Composio's own, turns nullable into a null type, trims required", () => {
    const converted = toParametersSchema({
      type: "object",
      title: "Args",
      properties: {
        to: { type: "string", description: "Recipient", examples: ["a@b.c"], human_parameter_name: "To" },
        attachment: { type: "object", file_uploadable: true, properties: { name: { type: "string" } } },
        count: { type: "integer", nullable: true, default: null },
        tags: { type: "array", items: { type: "string", enum: ["a", "b"] } },
        either: { anyOf: [{ type: "string" }, { type: "weird" }] },
      },
      required: ["to", "missing", 3],
    });
    expect(converted).toEqual({
      type: "object",
      title: "Args",
      properties: {
        to: { type: "string", description: "Recipient", examples: ["a@b.c"] },
        attachment: { type: "object", properties: { name: { type: "string" } } },
        count: { type: ["integer", "null"], default: null },
        tags: { type: "array", items: { type: "string", enum: ["a", "b"] } },
        either: { anyOf: [{ type: "string" }, {}] },
      },
      required: ["to"],
    });
  });

  it("answers an object schema for anything", () => {
    for (const input of [null, undefined, "x", [], { type: "string" }, {}]) {
      expect(toParametersSchema(input)).toEqual({ type: "object", properties: {}, required: [] });
    }
  });

  it("bounds deep nesting", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 1000; i++) deep = { type: "object", properties: { x: deep } };
    expect(() => JSON.stringify(toParametersSchema(deep))).not.toThrow();
  });
});

describe("toLlmTool", () => {
  const action = { slug: "GMAIL_SEND_EMAIL", name: "Send email", description: null, inputParameters: { type: "object", properties: {} } };
  it("has each provider's shape", () => {
    const parameters = { type: "object", properties: {}, required: [] };
    expect(toLlmTool("openai", action)).toEqual({
      type: "function",
      function: { name: "GMAIL_SEND_EMAIL", description: "Send email", parameters },
    });
    expect(toLlmTool("anthropic", action)).toEqual({ name: "GMAIL_SEND_EMAIL", description: "Send email", input_schema: parameters });
    expect(toLlmTool("json_schema", action)).toEqual({ name: "GMAIL_SEND_EMAIL", description: "Send email", parameters });
  });
});
