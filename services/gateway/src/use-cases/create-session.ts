import { signUserToken } from "@kronos/shared";

/** A short-lived token with which a browser acts for one user of one tenant. */
export function createSession(input: { tenantId: string; userId: string; secret: string; ttlSeconds: number; nowMs?: number }) {
  const exp = Math.floor((input.nowMs ?? Date.now()) / 1000) + input.ttlSeconds;
  const token = signUserToken({ tenantId: input.tenantId, userId: input.userId, exp }, input.secret);
  return { token, expires_at: new Date(exp * 1000).toISOString() };
}
