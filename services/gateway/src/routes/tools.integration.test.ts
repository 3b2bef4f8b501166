import { randomUUID } from "node:crypto";
import { type RunningEmulator, startEmulator } from "@kronos/composio-emulator";
import { actionOfToolName } from "@kronos/shared";
import { createTestTenant } from "@kronos/testing";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { bearer, type Harness, startHarness, userToken } from "../../test/harness.js";

let emulator: RunningEmulator;
let h: Harness;
let acme: { tenantId: string; apiKey: string };

const tools = (query: string, key = acme.apiKey) => h.inject({ method: "GET", url: `/api/v1/tools?${query}`, headers: bearer(key) });

// The providers' documented shapes of a tool definition. Names: ^[a-zA-Z0-9_-]{1,64}$ for both.
// OpenAI Chat Completions `tools[]`: { type: "function", function: { name, description?, parameters?, strict? } }.
// Anthropic Messages `tools[]`: { name, description?, input_schema: { type: "object", properties?, required? } }.
const name = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/);
const objectSchema = z.looseObject({ type: z.literal("object"), properties: z.record(z.string(), z.unknown()) });
const openAiTool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({ name, description: z.string().max(1024), parameters: objectSchema, strict: z.boolean().optional() }),
});
const anthropicTool = z.strictObject({ name, description: z.string(), input_schema: objectSchema });

/** Every parameters schema must compile as JSON Schema 2020-12 with no unknown keyword (strict mode). */
const ajv = new Ajv2020({ strict: true, allErrors: true });
const assertJsonSchema = (schema: unknown) => {
  expect(ajv.validateSchema(schema as object), JSON.stringify(ajv.errors)).toBe(true);
  expect(() => ajv.compile(schema as object)).not.toThrow();
};

beforeAll(async () => {
  emulator = await startEmulator();
  h = await startHarness({ COMPOSIO_BASE_URL: emulator.url, COMPOSIO_API_KEY: emulator.apiKey });
  acme = await createTestTenant(h.prisma, "acme");
  h.secrets.push(acme.apiKey, emulator.apiKey);
  await h.prisma.connection.create({
    data: {
      id: randomUUID(),
      tenantId: acme.tenantId,
      userId: "alice",
      toolkitSlug: "github",
      status: "ACTIVE",
      composioAccountId: `ca_${randomUUID()}`,
    },
  });
  await h.inject({
    method: "PUT",
    url: "/api/v1/policies/tools",
    headers: bearer(acme.apiKey),
    payload: { deny: ["GMAIL_DELETE_*"], require_approval: { tools: ["GMAIL_SEND_*"] } },
  });
});
afterAll(async () => {
  await h?.close();
  await emulator?.close();
});

describe("GET /api/v1/tools", () => {
  it("format=openai: valid Chat Completions tools, the policy applied, connected or not", async () => {
    const response = await tools("user_id=alice&toolkits=github,gmail&format=openai");
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.format).toBe("openai");
    const byAction = Object.fromEntries(body.items.map((i: { action: string }) => [i.action, i]));
    expect(Object.keys(byAction).sort()).toEqual([
      "GITHUB_CREATE_AN_ISSUE",
      "GITHUB_DELETE_A_REPOSITORY",
      "GITHUB_GET_THE_AUTHENTICATED_USER",
      "GMAIL_FETCH_EMAILS",
      "GMAIL_SEND_EMAIL",
    ]);
    expect(byAction.GITHUB_CREATE_AN_ISSUE).toMatchObject({ toolkit: "github", connected: true, requires_approval: false });
    expect(byAction.GMAIL_SEND_EMAIL).toMatchObject({ toolkit: "gmail", connected: false, requires_approval: true });
    for (const item of body.items) {
      expect(openAiTool.safeParse(item.definition).error).toBeUndefined();
      assertJsonSchema(item.definition.function.parameters);
      expect(actionOfToolName(item.definition.function.name, Object.keys(byAction))).toBe(item.action);
    }
    expect(byAction.GITHUB_CREATE_AN_ISSUE.definition.function.parameters).toMatchObject({
      type: "object",
      properties: { owner: { type: "string" }, repo: { type: "string" }, title: { type: "string" } },
      required: ["owner", "repo", "title"],
    });
  });

  it("format=anthropic: valid Messages API tools", async () => {
    const body = (await tools("user_id=alice&toolkits=github&format=anthropic")).json();
    expect(body.items.length).toBe(3);
    for (const item of body.items) {
      expect(anthropicTool.safeParse(item.definition).error).toBeUndefined();
      assertJsonSchema(item.definition.input_schema);
    }
  });

  it("format=json_schema (the default) and, without toolkits, the user's connected toolkits", async () => {
    const body = (await tools("user_id=alice")).json();
    expect(body.format).toBe("json_schema");
    expect(new Set(body.items.map((i: { toolkit: string }) => i.toolkit))).toEqual(new Set(["github"]));
    for (const item of body.items) assertJsonSchema(item.definition.parameters);
    expect((await tools("user_id=nobody")).json().items).toEqual([]);
  });

  it("a user token lists its own user's tools; another user is 403", async () => {
    const token = await userToken(h, acme.apiKey, "alice");
    expect((await tools("toolkits=github", token)).json().items).toHaveLength(3);
    expect((await tools("user_id=bob&toolkits=github", token)).statusCode).toBe(403);
  });

  it("refuses bad input with 400 naming the field, and an unknown toolkit with 404", async () => {
    for (const [query, field] of [
      ["toolkits=github", "querystring.user_id"],
      ["user_id=alice&format=gemini", "querystring.format"],
      ["user_id=alice&toolkits=git%20hub", "querystring.toolkits"],
      ["user_id=alice&toolkits=,,", "querystring.toolkits"],
      ["user_id=al%00ice", "querystring.user_id"],
    ]) {
      const response = await tools(query as string);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect((await tools("user_id=alice&toolkits=nosuchkit")).statusCode).toBe(404);
  });
});
