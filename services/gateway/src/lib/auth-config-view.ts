import type { AuthConfig } from "@kronos/db";
import type { AuthConfigView } from "@kronos/shared";

/** Never a credential: we do not store any. */
export function toAuthConfigView(row: AuthConfig): AuthConfigView {
  return {
    id: row.id,
    name: row.name,
    toolkit_slug: row.toolkitSlug,
    auth_scheme: row.authScheme,
    is_composio_managed: row.isComposioManaged,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
