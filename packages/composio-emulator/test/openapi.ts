import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { SPEC_PATH, specAvailable } from "./spec-location.js";

export { SPEC_PATH, specAvailable } from "./spec-location.js";

/**
 * Composio's official OpenAPI spec (v3) as a validator. The spec lives outside the repository (see spec-location.ts).
 * OpenAPI 3.0's `nullable` is rewritten into JSON Schema before Ajv sees it; `$ref`s resolve inside the document.
 */
const SPEC_ID = "composio-openapi-v3.json";

type Node = Record<string, unknown>;

/** OpenAPI 3.0 `nullable: true` → JSON Schema `null` allowed. */
function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== "object") return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node as Node)) out[k] = k === "example" || k === "examples" ? v : rewriteNullable(v);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === "string") {
      out.type = [out.type, "null"];
      if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    } else if (out.$ref || out.oneOf || out.anyOf || out.allOf) {
      return { anyOf: [{ type: "null" }, out] };
    }
  }
  return out;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

export class OpenApiSpec {
  private readonly ajv: Ajv;
  readonly doc: Node & { paths: Record<string, Record<string, Node>> };
  private readonly cache = new Map<string, ValidateFunction>();

  constructor() {
    if (!specAvailable()) throw new Error(`Composio's OpenAPI spec is missing: expected ${SPEC_PATH}`);
    this.doc = rewriteNullable(JSON.parse(readFileSync(SPEC_PATH, "utf8"))) as OpenApiSpec["doc"];
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
    addFormats(this.ajv);
    this.ajv.addFormat("authConfigId", /^ac_[A-Za-z0-9_-]+$/);
    this.ajv.addFormat("connectedAccountId", /^ca_[A-Za-z0-9_-]+$/);
    for (const format of this.customFormats()) if (!this.ajv.formats[format]) this.ajv.addFormat(format, true);
    this.ajv.addSchema(this.doc, SPEC_ID);
  }

  private customFormats(): Set<string> {
    const found = new Set<string>();
    const walk = (n: unknown) => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === "object") {
        for (const [k, v] of Object.entries(n as Node)) {
          if (k === "format" && typeof v === "string") found.add(v);
          else walk(v);
        }
      }
    };
    walk(this.doc);
    return found;
  }

  private validator(pointer: string): ValidateFunction {
    let fn = this.cache.get(pointer);
    if (!fn) {
      fn = this.ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
      this.cache.set(pointer, fn);
    }
    return fn;
  }

  private operation(specPath: string, method: string): Node {
    const op = this.doc.paths[specPath]?.[method.toLowerCase()];
    if (!op) throw new Error(`The spec has no operation ${method} ${specPath}`);
    return op;
  }

  /** Problems of a response body against `specPath`+`method`+`status` ([] = valid). Throws if the spec lacks it. */
  responseProblems(specPath: string, method: string, status: number, body: unknown): string[] {
    const op = this.operation(specPath, method) as { responses?: Record<string, unknown> };
    if (!op.responses?.[String(status)]) return [`status ${status} is not documented for ${method} ${specPath}`];
    const pointer = ["", "paths", specPath, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema"]
      .map(escapePointer)
      .join("/");
    return this.check(pointer, body);
  }

  /** Problems of a request body against the operation's request schema. */
  requestProblems(specPath: string, method: string, body: unknown): string[] {
    const op = this.operation(specPath, method) as { requestBody?: unknown };
    if (!op.requestBody) return [];
    const pointer = ["", "paths", specPath, method.toLowerCase(), "requestBody", "content", "application/json", "schema"]
      .map(escapePointer)
      .join("/");
    return this.check(pointer, body);
  }

  private check(pointer: string, body: unknown): string[] {
    const validate = this.validator(pointer);
    if (validate(body)) return [];
    return (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "(root)"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
  }

  /** The spec path (`/api/v3/...`) of a concrete route such as `/connected_accounts/ca_1/refresh`. */
  specPathFor(method: string, route: string): string | null {
    const candidates = Object.keys(this.doc.paths).filter((p) => {
      if (!this.doc.paths[p]?.[method.toLowerCase()]) return false;
      const regex = new RegExp(`^${p.replace(/^\/api\/v3/, "").replace(/\{[^}]+\}/g, "[^/]+")}$`);
      return regex.test(route);
    });
    candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
    return candidates[0] ?? null;
  }
}
