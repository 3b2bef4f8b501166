import { AppError } from "@kronos/shared";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";

/** Compiled config schemas, by the schema's JSON (trigger types change rarely; the catalogue cache refreshes them). */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 500;
const MAX_DETAILS = 20;

// strict off and formats unchecked: the schema is Composio's, and an unknown keyword or format must not refuse a config.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch {
      throw new AppError("UPSTREAM_ERROR", "Composio's config schema of this trigger type is unusable");
    }
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, validate);
  }
  return validate;
}

/** "body.config.<path>" of an ajv error, naming the missing or unknown property itself when there is one. */
function fieldOf(error: ErrorObject, base: string): string {
  const path = error.instancePath
    .replace(/^\//, "")
    .split("/")
    .filter(Boolean)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const named = params.missingProperty ?? params.additionalProperty;
  return [base, ...path, ...(named === undefined ? [] : [named])].join(".");
}

/**
 * Checks a trigger config against its type's JSON schema (Composio's `config`) before anything is queued: a
 * VALIDATION_FAILED error names each offending field as "body.config.<field>".
 */
export function checkTriggerConfig(schema: Record<string, unknown>, config: Record<string, unknown>, base = "body.config"): void {
  const validate = validatorFor(schema);
  if (validate(config)) return;
  const details = (validate.errors ?? []).slice(0, MAX_DETAILS).map((error) => ({
    field: fieldOf(error, base),
    message: error.message ?? "Invalid value",
  }));
  const fields = [...new Set(details.map((d) => d.field))].join(", ");
  throw new AppError("VALIDATION_FAILED", `The trigger config is invalid: ${fields}`, details);
}
