import type { Prisma } from "@kronos/db";
import { isUuid } from "@kronos/shared";

/**
 * The one resolver of a connection reference, used by every connection route (and tools/execute): our connection id
 * (a UUID) names the row by id, anything else is Composio's connected account id ("ca_...").
 */
export function connectionRefWhere(ref: string): Prisma.ConnectionWhereInput {
  return isUuid(ref) ? { id: ref } : { composioAccountId: ref };
}
