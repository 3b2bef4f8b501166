/** What replaces a secret value in an approval request. */
export const REDACTED = "[REDACTED]";

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A property the tool's input schema marks as secret: `format: "password"` or `writeOnly: true`. */
const isSecret = (schema: unknown) => isObject(schema) && (schema.format === "password" || schema.writeOnly === true);

/**
 * The arguments with every value the tool's input schema marks as secret replaced by "[REDACTED]" (nested objects
 * and arrays of objects followed), and the paths of what was replaced.
 */
export function redactArguments(
  args: Record<string, unknown>,
  inputSchema: unknown,
): { arguments: Record<string, unknown>; redacted: string[] } {
  const redacted: string[] = [];
  const walk = (value: unknown, schema: unknown, path: string, depth: number): unknown => {
    if (depth > 32 || !isObject(schema)) return value;
    if (Array.isArray(value)) return value.map((item, i) => walk(item, schema.items, `${path}[${i}]`, depth + 1));
    if (!isObject(value) || !isObject(schema.properties)) return value;
    const properties = schema.properties;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        const at = path ? `${path}.${key}` : key;
        if (isSecret(properties[key])) {
          redacted.push(at);
          return [key, REDACTED];
        }
        return [key, walk(inner, properties[key], at, depth + 1)];
      }),
    );
  };
  return { arguments: walk(args, inputSchema, "", 0) as Record<string, unknown>, redacted };
}
