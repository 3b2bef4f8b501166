import { type EffectiveToolPolicy, resolveToolPolicy, type ToolPolicyDocument, toolPolicySchema } from "@kronos/shared";
import type { PrismaClient } from "./generated/prisma/client.js";

/** The stored rows of a tenant's tool policy and of one user's override. */
export interface StoredToolPolicies {
  tenant: StoredToolPolicy | null;
  user: StoredToolPolicy | null;
}
export interface StoredToolPolicy {
  document: ToolPolicyDocument;
  updatedAt: Date;
  updatedBy: string;
}

/** The tenant's own policy is stored with this user id. */
export const TENANT_POLICY_USER = "";

/** The tenant's stored policy and, for a user, that user's override: one query. */
export async function readToolPolicies(prisma: PrismaClient, tenantId: string, userId: string | null): Promise<StoredToolPolicies> {
  const rows = await prisma.toolPolicy.findMany({
    where: { tenantId, userId: { in: userId === null ? [TENANT_POLICY_USER] : [TENANT_POLICY_USER, userId] } },
  });
  const stored = (forUser: string): StoredToolPolicy | null => {
    const row = rows.find((r) => r.userId === forUser);
    if (!row) return null;
    // Stored documents were validated on the way in; parse again so a hand-edited row cannot widen anything silently.
    const document = toolPolicySchema.safeParse(row.document);
    return { document: document.success ? document.data : { allow: [] }, updatedAt: row.updatedAt, updatedBy: row.updatedBy };
  };
  return { tenant: stored(TENANT_POLICY_USER), user: userId === null ? null : stored(userId) };
}

/** What applies: the tenant's policy with the user's override on top. */
export const effectiveToolPolicy = (stored: StoredToolPolicies): EffectiveToolPolicy =>
  resolveToolPolicy(stored.tenant?.document ?? null, stored.user?.document ?? null);
