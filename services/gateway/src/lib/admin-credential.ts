import { safeEqual } from "@kronos/shared";

/**
 * Whether an Authorization header carries the admin token: `Bearer <token>` (scripts, Prometheus) or HTTP Basic
 * with the token as the password, any user name (browsers).
 */
export function isAdminAuthorization(header: string | undefined, adminToken: string): boolean {
  if (!header) return false;
  const [scheme, value, extra] = header.trim().split(/\s+/);
  if (!scheme || !value || extra !== undefined) return false;
  if (scheme.toLowerCase() === "bearer") return safeEqual(value, adminToken);
  if (scheme.toLowerCase() !== "basic") return false;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 && safeEqual(decoded.slice(colon + 1), adminToken);
}

export const ADMIN_REALM = 'Basic realm="Kronos Connect", charset="UTF-8"';
