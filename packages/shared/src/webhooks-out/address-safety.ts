import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/**
 * Where an outbound webhook may go. Cloud metadata services are refused always (whatever the spelling: the URL
 * parser turns 2852039166, 0xA9FEA9FE and 0251.0376.0251.0376 into 169.254.169.254; IPv4-mapped, NAT64 and 6to4
 * IPv6 forms are unwrapped here); private, loopback, link-local and other non-public ranges unless allowed.
 */
export type AddressClass = "public" | "private" | "metadata";

const METADATA_ADDRESSES = new Set(
  [
    "169.254.169.254", // AWS, GCP, Azure, OpenStack...
    "169.254.170.2", // AWS ECS task metadata
    "100.100.100.200", // Alibaba Cloud
    "fd00:ec2::254", // AWS over IPv6
  ].map((address) => ipaddr.parse(address).toNormalizedString()),
);

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address();
  const bytes = address.toByteArray();
  if (address.range() === "rfc6052") return new ipaddr.IPv4(bytes.slice(12, 16));
  if (address.range() === "6to4") return new ipaddr.IPv4(bytes.slice(2, 6));
  // IPv4-compatible (::a.b.c.d), deprecated but still routed by some stacks.
  if (bytes.slice(0, 12).every((b) => b === 0) && bytes.slice(12).some((b) => b !== 0)) return new ipaddr.IPv4(bytes.slice(12, 16));
  return null;
}

/** Classifies an IP address (textual, as DNS or the URL parser gives it); null when it is not an IP address. */
export function classifyAddress(text: string): AddressClass | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return null;
  let address: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(bare);
  if (address.kind() === "ipv6") {
    const v6 = address as ipaddr.IPv6;
    // A zone id (fe80::1%eth0) is link-local by definition.
    if (v6.zoneId) return "private";
    if (METADATA_ADDRESSES.has(v6.toNormalizedString())) return "metadata";
    address = embeddedIPv4(v6) ?? v6;
  }
  if (METADATA_ADDRESSES.has(address.toNormalizedString())) return "metadata";
  return address.range() === "unicast" ? "public" : "private";
}

export interface AddressPolicy {
  /** OUTBOUND_WEBHOOKS_ALLOW_PRIVATE. */
  allowPrivate: boolean;
}

export class UnsafeTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeTargetError";
  }
}

/** Whether an address may be reached under the policy: the reason it may not, or null. */
export function refusalOf(address: string, policy: AddressPolicy): string | null {
  const kind = classifyAddress(address);
  if (kind === null) return `${address} is not an IP address`;
  if (kind === "metadata") return "the URL points at a cloud metadata address";
  if (kind === "private" && !policy.allowPrivate) return "the URL resolves to a private, loopback or link-local address";
  return null;
}

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a URL's host and checks every address it has (an attacker's DNS may answer a public and a private one):
 * the first is the one to connect to, so the address checked is the address used (no DNS rebinding in between).
 */
export async function resolveTarget(hostname: string, policy: AddressPolicy): Promise<ResolvedTarget> {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const literal = ipaddr.isValid(bare) ? [{ address: bare, family: bare.includes(":") ? 6 : 4 }] : null;
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = literal ?? (await lookup(bare, { all: true, verbatim: true }));
  } catch {
    throw new UnsafeTargetError(`the host ${hostname} does not resolve`);
  }
  if (addresses.length === 0) throw new UnsafeTargetError(`the host ${hostname} does not resolve`);
  for (const { address } of addresses) {
    const refusal = refusalOf(address, policy);
    if (refusal) throw new UnsafeTargetError(refusal);
  }
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

export interface UrlPolicy extends AddressPolicy {
  /** NODE_ENV=production: https only. */
  httpsOnly: boolean;
}

/** Checks an endpoint URL's form (not its addresses): the reason it is refused, or null. */
export function urlFormRefusal(url: URL, policy: UrlPolicy): string | null {
  if (url.protocol !== "https:" && url.protocol !== "http:") return "the URL must be http or https";
  if (policy.httpsOnly && url.protocol !== "https:") return "the URL must be https";
  if (url.username || url.password) return "the URL must not carry credentials";
  if (!url.hostname) return "the URL has no host";
  return null;
}
