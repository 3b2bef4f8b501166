/**
 * Text Postgres cannot store: a NUL character (text and jsonb refuse \u0000) and lone UTF-16 surrogates (not
 * Unicode; jsonb refuses their escapes). Requests carrying them are refused with 400 (`findUnstorableText`); a
 * third party's payload we must keep anyway (a Composio webhook) is stored with them replaced (`storableJson`).
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this looks for.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this replaces.
const UNSTORABLE_ALL = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const hasUnstorableText = (text: string): boolean => UNSTORABLE.test(text);

/** Replaces NUL and lone surrogates with U+FFFD (the replacement character). */
export const storableText = (text: string): string => (UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, "\uFFFD") : text);

/** Deepest nesting of arrays and objects accepted in a request body. */
export const MAX_JSON_DEPTH = 64;

/**
 * The path ("a.b[2]") of the first string or key in `value` holding unstorable text, or null. Walks iteratively (no
 * recursion), so any depth is safe.
 */
export function findUnstorableText(value: unknown, root = ""): string | null {
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0) {
    const [current, path] = stack.pop() as [unknown, string];
    if (typeof current === "string") {
      if (hasUnstorableText(current)) return path || "(root)";
    } else if (Array.isArray(current)) {
      for (const [index, item] of current.entries()) stack.push([item, path ? `${path}.${index}` : String(index)]);
    } else if (current !== null && typeof current === "object") {
      for (const [key, item] of Object.entries(current)) {
        const at = path ? `${path}.${key}` : key;
        if (hasUnstorableText(key)) return at;
        stack.push([item, at]);
      }
    }
  }
  return null;
}

/** JSON of `value` with every string and key made storable (see `storableText`): for a jsonb column. */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "string") return storableText(item);
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      const entries = Object.entries(item as Record<string, unknown>);
      if (entries.some(([key]) => hasUnstorableText(key))) return Object.fromEntries(entries.map(([k, v]) => [storableText(k), v]));
    }
    return item;
  });
  return json;
}

/**
 * The nesting depth of a JSON text (arrays and objects), counted without parsing it: a body nested thousands of
 * levels deep is refused before JSON.parse, the validators or Postgres recurse into it. Stops counting past `limit`.
 */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
