import type { FastifyReply, FastifyRequest } from "fastify";
import { ERRORS, errorBody } from "./errors.js";

/**
 * Faults injected into API requests by tests. A fault matches on method and path (`*` = one path segment,
 * a trailing `/**` = any rest; matched against the path without its /api/v3 or /api/v3.1 prefix) and applies to
 * the next `times` matching requests, or to all of them until cleared.
 */
export type FaultKind =
  /** Waits `ms`, then answers normally. */
  | "latency"
  /** 429 with Retry-After and Composio's plain `{ message }` body. */
  | "rate_limit"
  /** `status` (default 500) with the error envelope. */
  | "server_error"
  /** Never answers (the client must time out). */
  | "timeout"
  /** 200 with a truncated JSON body. */
  | "malformed"
  /** Destroys the connection without an answer. */
  | "reset"
  /** Runs the request (a tool runs, an account is created), then waits `ms` before answering. */
  | "answer_latency"
  /** Runs the request, then destroys the connection instead of answering: the caller cannot know it happened. */
  | "answer_drop";

export const FAULT_KINDS: readonly FaultKind[] = [
  "latency",
  "rate_limit",
  "server_error",
  "timeout",
  "malformed",
  "reset",
  "answer_latency",
  "answer_drop",
];

export interface FaultSpec {
  kind: FaultKind;
  method?: string;
  path?: string;
  times?: number;
  ms?: number;
  status?: number;
  retryAfterSeconds?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  remaining: number | null;
  hits: number;
}

export function pathMatches(pattern: string, path: string): boolean {
  const regex = pattern
    .split("/")
    .map((segment) => (segment === "**" ? ".*" : segment === "*" ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${regex}/?$`).test(path);
}

export class FaultRegistry {
  private faults: Fault[] = [];
  private seq = 0;
  /** Responses held open by "timeout" faults: destroyed on reset and close. */
  private readonly hanging = new Set<FastifyReply>();
  /** Faults that act once the request has run (answer_latency, answer_drop), by request. */
  private readonly afterRun = new WeakMap<FastifyRequest, Fault>();

  add(spec: FaultSpec): Fault {
    this.seq += 1;
    const fault: Fault = { ...spec, id: `fault_${this.seq}`, remaining: spec.times ?? null, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
    this.releaseHanging();
  }

  releaseHanging(): void {
    for (const reply of this.hanging) reply.raw.destroy();
    this.hanging.clear();
  }

  /**
   * Applies the fault, if any, that acts once the request has run, just before its answer is sent: waits, or drops
   * the connection (the answer is then never written).
   */
  async beforeAnswer(request: FastifyRequest): Promise<void> {
    const fault = this.afterRun.get(request);
    if (!fault) return;
    this.afterRun.delete(request);
    if (fault.kind === "answer_latency") {
      await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 1000));
    } else {
      request.raw.socket.destroy();
    }
  }

  /** Takes the first fault matching the request, counting it down. */
  take(method: string, route: string): Fault | null {
    const fault = this.faults.find((f) => (!f.method || f.method.toUpperCase() === method) && (!f.path || pathMatches(f.path, route)));
    if (!fault) return null;
    fault.hits += 1;
    if (fault.remaining !== null) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    }
    return fault;
  }

  /** Applies a fault. Returns true when the request was answered (or hijacked) and must go no further. */
  async apply(fault: Fault, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    switch (fault.kind) {
      case "answer_latency":
      case "answer_drop":
        this.afterRun.set(request, fault);
        return false;
      case "latency":
        await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 1000));
        return false;
      case "rate_limit": {
        const retryAfter = fault.retryAfterSeconds ?? 1;
        await reply
          .code(429)
          .headers({
            "retry-after": String(retryAfter),
            "x-ratelimit": "2000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-window-size": "60",
          })
          .send({ message: `Rate limit exceeded. Please retry after ${retryAfter} seconds.` });
        return true;
      }
      case "server_error": {
        const status = fault.status ?? 500;
        await reply.code(status).send(errorBody(ERRORS.INTERNAL, status, "Internal server error (injected by the emulator)", request.id));
        return true;
      }
      case "malformed":
        await reply.code(200).type("application/json").send('{"items": [{"id": "trunc');
        return true;
      case "timeout":
        reply.hijack();
        this.hanging.add(reply);
        reply.raw.on("close", () => this.hanging.delete(reply));
        return true;
      case "reset":
        reply.hijack();
        request.raw.socket.destroy();
        return true;
    }
  }
}
