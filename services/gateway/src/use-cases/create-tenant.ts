import { type PrismaClient, recordAudit } from "@kronos/db";
import { generateApiKey } from "@kronos/shared";

/** Creates a tenant with its first API key (only the hash is stored) and records it in the audit log. */
export async function createTenant(prisma: PrismaClient, input: { name: string; actor: string }) {
  const { key, hash, prefix } = generateApiKey();
  const tenant = await prisma.$transaction(async (tx) => {
    const created = await tx.tenant.create({ data: { name: input.name, apiKeys: { create: { keyHash: hash, prefix } } } });
    await recordAudit(tx, {
      tenantId: created.id,
      actor: input.actor,
      action: "tenant.created",
      resourceId: created.id,
      data: { name: created.name, api_key_prefix: prefix },
    });
    return created;
  });
  return { tenant_id: tenant.id, name: tenant.name, api_key: key };
}
