/**
 * The MCP calls this gateway instance holds open, by agent session and by (protocol session, request id), so that a
 * revocation broadcast or a client's cancellation ends their wait at once. Only a shortcut: every wait also reads the
 * execution (and so sees a cancellation made on another instance) and ends by itself at its deadline.
 */
export class OpenCalls {
  private readonly bySession = new Map<string, Set<AbortController>>();
  private readonly byRequest = new Map<string, AbortController>();

  /** Registers a call; its signal aborts on revocation, cancellation, `parent` aborting, or `abortAll`. */
  open(agentSessionId: string, requestKey: string, parent?: AbortSignal): { signal: AbortSignal; close(): void } {
    const controller = new AbortController();
    const onParent = () => controller.abort(parent?.reason);
    if (parent?.aborted) controller.abort(parent.reason);
    else parent?.addEventListener("abort", onParent, { once: true });
    let calls = this.bySession.get(agentSessionId);
    if (!calls) {
      calls = new Set();
      this.bySession.set(agentSessionId, calls);
    }
    calls.add(controller);
    this.byRequest.set(requestKey, controller);
    return {
      signal: controller.signal,
      close: () => {
        parent?.removeEventListener("abort", onParent);
        const set = this.bySession.get(agentSessionId);
        set?.delete(controller);
        if (set?.size === 0) this.bySession.delete(agentSessionId);
        if (this.byRequest.get(requestKey) === controller) this.byRequest.delete(requestKey);
      },
    };
  }

  abortSession(agentSessionId: string): void {
    for (const controller of this.bySession.get(agentSessionId) ?? []) controller.abort(new Error("The agent session was revoked"));
  }

  abortRequest(requestKey: string): void {
    this.byRequest.get(requestKey)?.abort(new Error("The client cancelled the request"));
  }

  /** On shutdown: every wait ends now and answers what it has. */
  abortAll(): void {
    for (const controller of this.byRequest.values()) controller.abort(new Error("The gateway is stopping"));
  }

  get size(): number {
    return this.byRequest.size;
  }
}

/** The key of one client request: its protocol session and JSON-RPC id (ids are unique within a session). */
export const requestKey = (protocolSessionId: string, requestId: string | number) =>
  `${protocolSessionId}:${typeof requestId}:${requestId}`;
