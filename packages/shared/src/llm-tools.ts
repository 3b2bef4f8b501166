import { createHash } from "node:crypto";

/**
 * Function-calling definitions for models. OpenAI's and Anthropic's tool names must match ^[a-zA-Z0-9_-]{1,64}$;
 * action slugs are [A-Z0-9_] of any length. A slug of at most 64 characters is its own name (almost all are); a
 * longer one becomes its first 53 characters, "_" and the first 10 hex digits of the SHA-256 of the whole slug, so
 * that two long slugs never share a name. `actionOfToolName` maps a name back, given the slugs it was made from.
 */
export const LLM_TOOL_NAME_MAX = 64;
export const LLM_TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export function llmToolName(actionSlug: string): string {
  if (actionSlug.length <= LLM_TOOL_NAME_MAX) return actionSlug;
  const digest = createHash("sha256").update(actionSlug).digest("hex").slice(0, 10);
  return `${actionSlug.slice(0, LLM_TOOL_NAME_MAX - 11)}_${digest}`;
}

/** The action a model's tool name stands for, among the given slugs (null: none). */
export function actionOfToolName(name: string, actionSlugs: Iterable<string>): string | null {
  for (const slug of actionSlugs) if (llmToolName(slug) === name) return slug;
  return null;
}

export const LLM_TOOL_FORMATS = ["openai", "anthropic", "json_schema"] as const;
export type LlmToolFormat = (typeof LLM_TOOL_FORMATS)[number];

/** An action as the converter needs it. */
export interface LlmToolSource {
  slug: string;
  name: string;
  description: string | null;
  inputParameters: unknown;
}

/** Draft 2020-12 keywords kept from Composio's schemas; the rest (file_uploadable, human_parameter_name, ...) go. */
const KEPT = new Set([
  "type",
  "description",
  "title",
  "enum",
  "const",
  "default",
  "examples",
  "format",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
]);
const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);
const MAX_DEPTH = 32;

type Schema = Record<string, unknown>;
const isObject = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Composio's input parameters as a JSON Schema both providers accept: an object at the top, standard keywords only,
 * OpenAPI's `nullable: true` as a "null" type, `required` limited to the properties that exist.
 */
export function toParametersSchema(input: unknown): Schema {
  const converted = isObject(input) ? convert(input, 0) : {};
  const properties = isObject(converted.properties) ? converted.properties : {};
  const required = Array.isArray(converted.required) ? converted.required : [];
  const { type: _type, properties: _p, required: _r, ...rest } = converted;
  return { type: "object", ...rest, properties, required };
}

function convert(schema: Schema, depth: number): Schema {
  if (depth > MAX_DEPTH) return {};
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (KEPT.has(key) && value !== undefined) out[key] = value;
  }
  if (typeof out.type === "string" && !JSON_TYPES.has(out.type)) delete out.type;
  if (Array.isArray(out.type)) out.type = out.type.filter((t) => typeof t === "string" && JSON_TYPES.has(t));
  if (schema.nullable === true && typeof out.type === "string" && out.type !== "null") out.type = [out.type, "null"];
  if (isObject(schema.properties)) {
    const properties: Schema = {};
    for (const [name, value] of Object.entries(schema.properties)) properties[name] = isObject(value) ? convert(value, depth + 1) : {};
    out.properties = properties;
    if (Array.isArray(schema.required)) out.required = schema.required.filter((r): r is string => typeof r === "string" && r in properties);
  }
  if (isObject(schema.items)) out.items = convert(schema.items, depth + 1);
  if (isObject(schema.additionalProperties)) out.additionalProperties = convert(schema.additionalProperties, depth + 1);
  else if (typeof schema.additionalProperties === "boolean") out.additionalProperties = schema.additionalProperties;
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const list = schema[key];
    if (Array.isArray(list)) out[key] = list.filter(isObject).map((s) => convert(s, depth + 1));
  }
  return out;
}

/** One action as the given provider's tool definition. */
export function toLlmTool(format: LlmToolFormat, action: LlmToolSource): Schema {
  const name = llmToolName(action.slug);
  const description = (action.description || action.name).slice(0, 1024);
  const parameters = toParametersSchema(action.inputParameters);
  switch (format) {
    case "openai":
      // Chat Completions' `tools` item (the Responses API takes the same fields without the `function` wrapper).
      return { type: "function", function: { name, description, parameters } };
    case "anthropic":
      return { name, description, input_schema: parameters };
    case "json_schema":
      return { name, description, parameters };
  }
}
