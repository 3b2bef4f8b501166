import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the contract tests find Composio's official OpenAPI spec (v3), which its licence keeps out of this
 * repository: `COMPOSIO_OPENAPI_SPEC` when set (then it must exist), else `<repo>/../shared/composio/` (our machines
 * and CI have it there). Without it, the contract tests are skipped, and the test run says so once.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, "../../..");
const DEFAULT_SPEC_PATH = path.resolve(REPO_ROOT, "../shared/composio/composio-openapi-v3.json");

export const SPEC_PATH = process.env.COMPOSIO_OPENAPI_SPEC ? path.resolve(process.env.COMPOSIO_OPENAPI_SPEC) : DEFAULT_SPEC_PATH;

/** True when the spec is there; throws when COMPOSIO_OPENAPI_SPEC names a file that is not (a typo is not a skip). */
export function specAvailable(): boolean {
  if (existsSync(SPEC_PATH)) return true;
  if (process.env.COMPOSIO_OPENAPI_SPEC) throw new Error(`COMPOSIO_OPENAPI_SPEC=${process.env.COMPOSIO_OPENAPI_SPEC}: no such file`);
  return false;
}

export const SPEC_SKIP_NOTICE =
  `SKIPPED: the Composio contract tests (packages/composio-emulator), because Composio's OpenAPI spec is not at ${DEFAULT_SPEC_PATH}. ` +
  "To run them, set COMPOSIO_OPENAPI_SPEC=/path/to/composio-openapi-v3.json (see docs/development.md).";
