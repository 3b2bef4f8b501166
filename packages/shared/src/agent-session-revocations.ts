import type { Redis } from "ioredis";

/**
 * Revocation of an agent session, broadcast to every gateway instance: each ends at once the MCP calls it holds open
 * for that session (a call waiting for a sign-in or an approval). New requests need no message: every MCP request
 * reads its session's row, so a revoked session is refused on any instance from the moment the row says so.
 */
export interface AgentSessionRevoked {
  tenantId: string;
  sessionId: string;
}

export const agentSessionRevocationChannel = (prefix: string) => `${prefix}:agent-sessions:revoked`;

export async function publishAgentSessionRevoked(redis: Redis, prefix: string, revoked: AgentSessionRevoked): Promise<void> {
  await redis.publish(agentSessionRevocationChannel(prefix), JSON.stringify(revoked));
}

/**
 * Calls `onRevoked` for every revocation published on `subscriber` (a connection in subscriber mode, shared with
 * other channels). Resolves once Redis confirmed the subscription; the returned function unsubscribes.
 */
export async function onAgentSessionRevoked(
  subscriber: Redis,
  prefix: string,
  onRevoked: (revoked: AgentSessionRevoked) => void,
): Promise<() => Promise<void>> {
  const channel = agentSessionRevocationChannel(prefix);
  const listener = (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const parsed = JSON.parse(message) as Partial<AgentSessionRevoked>;
      if (typeof parsed.tenantId === "string" && typeof parsed.sessionId === "string") {
        onRevoked({ tenantId: parsed.tenantId, sessionId: parsed.sessionId });
      }
    } catch {
      // not ours
    }
  };
  subscriber.on("message", listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off("message", listener);
    await subscriber.unsubscribe(channel).catch(() => {});
  };
}
