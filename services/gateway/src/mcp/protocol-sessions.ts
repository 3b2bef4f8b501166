import { randomUUID } from "node:crypto";
import type { Redis } from "@kronos/shared";

/**
 * What an MCP client said when it initialized (its capabilities), kept in Redis under the Mcp-Session-Id we gave it,
 * so that any gateway instance serves its next request: nothing of a client's session lives in one process.
 */
export interface ProtocolSession {
  /** The agent session whose token opened it: a request with another agent session's token does not get it. */
  agentSessionId: string;
  protocolVersion: string;
  /** The client can show a URL to its user (URL-mode elicitation): sign-in and approval links then wait. */
  urlElicitation: boolean;
}

const key = (prefix: string, id: string) => `${prefix}:mcp:session:${id}`;

/**
 * How long an unused protocol session is kept (never past its agent session's end): each request extends it. A
 * client back after longer gets 404 and initializes again, as MCP says; a client that initializes often leaves at
 * most an hour of keys behind.
 */
export const PROTOCOL_SESSION_IDLE_MS = 3_600_000;

const ttlMs = (expiresAtMs: number) => Math.max(1_000, Math.min(PROTOCOL_SESSION_IDLE_MS, expiresAtMs - Date.now()));

export async function openProtocolSession(redis: Redis, prefix: string, session: ProtocolSession, expiresAtMs: number): Promise<string> {
  const id = randomUUID();
  await redis.set(key(prefix, id), JSON.stringify(session), "PX", ttlMs(expiresAtMs));
  return id;
}

/** The session (its idle time reset), or null when it is unknown, ended, or belongs to another agent session. */
export async function findProtocolSession(
  redis: Redis,
  prefix: string,
  id: string,
  agentSessionId: string,
  expiresAtMs: number,
): Promise<ProtocolSession | null> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return null;
  const stored = await redis.getex(key(prefix, id), "PX", ttlMs(expiresAtMs));
  if (stored === null) return null;
  try {
    const session = JSON.parse(stored) as ProtocolSession;
    return session.agentSessionId === agentSessionId ? session : null;
  } catch {
    return null;
  }
}

export async function closeProtocolSession(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(key(prefix, id));
}
