import type { PrismaClient } from "@kronos/db";
import { generateApiKey } from "@kronos/shared";

const TENANT_CREATED = "tenant.created";

/** Creates a tenant with its first API key (only the hash is stored) and records it in the audit log. */
export async function createTenant(prisma: PrismaClient, input: { name: string; actor: string }) {
  const { key, hash, prefix } = generateApiKey();
  const tenant = await prisma.$transaction(async (tx) => {
    const created = await tx.tenant.create({ data: { name: input.name, apiKeys: { create: { keyHash: hash, prefix } } } });
    await tx.auditLog.create({
      data: {
        tenantId: created.id,
        actor: input.actor,
        action: TENANT_CREATED,
        targetType: "tenant",
        targetId: created.id,
        data: { name: created.name, api_key_prefix: prefix },
      },
    });
    return created;
  });
  return { tenant_id: tenant.id, name: tenant.name, api_key: key };
}
