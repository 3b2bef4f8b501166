import { type OutputUnit, type Schema, Validator } from "@cfworker/json-schema";
import {
  type CustomValidator,
  createErrorHandler,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  toErrorSchema,
  type UiSchema,
  unwrapErrorHandler,
  type ValidationData,
  type ValidatorType,
  validationDataMerge,
} from "@rjsf/utils";

/**
 * react-jsonschema-form's validator over @cfworker/json-schema, which validates without generating code. The usual
 * @rjsf/validator-ajv8 compiles every schema with `new Function`, which the console's Content-Security-Policy
 * forbids (no 'unsafe-eval'); this one only translates the validator's output into rjsf's error shape.
 */

// Keywords that only report that a sub-schema failed: the sub-schema's own error says what is wrong.
const WRAPPER_KEYWORDS = new Set([
  "properties",
  "items",
  "prefixItems",
  "additionalItems",
  "allOf",
  "$ref",
  "if",
  "then",
  "else",
  "dependentSchemas",
  "unevaluatedProperties",
  "unevaluatedItems",
  "patternProperties",
]);
const REQUIRED_PROPERTY = /required property "(.+)"\.$/;

/** "#/a/0/b" (a JSON pointer in a URI fragment) to rjsf's ".a.0.b". */
function propertyPath(instanceLocation: string): string {
  return instanceLocation
    .replace(/^#/, "")
    .split("/")
    .filter((part) => part !== "")
    .map((part) => `.${decodeURIComponent(part).replaceAll("~1", "/").replaceAll("~0", "~")}`)
    .join("");
}

function toRjsfError(unit: OutputUnit): RJSFValidationError {
  let property = propertyPath(unit.instanceLocation);
  let message = unit.error.replace(/^Instance /, "").replace(/\.$/, "");
  const missing = unit.keyword === "required" ? REQUIRED_PROPERTY.exec(unit.error)?.[1] : undefined;
  if (missing !== undefined) {
    property = `${property}.${missing}`;
    message = "is a required property";
  }
  return { name: unit.keyword, property, message, stack: `${property.slice(1) || "value"} ${message}`, schemaPath: unit.keywordLocation };
}

function validate(schema: RJSFSchema, data: unknown, rootSchema?: RJSFSchema): OutputUnit[] {
  const withDefinitions =
    rootSchema && schema !== rootSchema ? { ...schema, definitions: rootSchema.definitions, $defs: rootSchema.$defs } : schema;
  return new Validator(withDefinitions as Schema, "2020-12", false).validate(data).errors;
}

export const formValidator: ValidatorType = {
  validateFormData(
    formData: unknown,
    schema: RJSFSchema,
    customValidate?: CustomValidator,
    transformErrors?: ErrorTransformer,
    uiSchema?: UiSchema,
  ): ValidationData<unknown> {
    let errors: RJSFValidationError[];
    try {
      errors = validate(schema, formData)
        .filter((unit) => !WRAPPER_KEYWORDS.has(unit.keyword))
        .map(toRjsfError);
    } catch (error) {
      errors = [{ name: "schema", property: "", message: `the action's schema cannot be used: ${String(error)}`, stack: "invalid schema" }];
    }
    if (transformErrors) errors = transformErrors(errors, uiSchema);
    const result: ValidationData<unknown> = { errors, errorSchema: toErrorSchema(errors) };
    if (!customValidate) return result;
    const custom = customValidate(formData, createErrorHandler(formData), uiSchema);
    return validationDataMerge(result, unwrapErrorHandler(custom));
  },
  isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
    try {
      return validate(schema, formData, rootSchema).length === 0;
    } catch {
      return false;
    }
  },
  rawValidation<Result>(schema: RJSFSchema, formData?: unknown): { errors?: Result[]; validationError?: Error } {
    try {
      return { errors: validate(schema, formData) as unknown as Result[] };
    } catch (error) {
      return { validationError: error as Error };
    }
  },
};
