import type { PrismaClient } from "@kronos/db";
import { globalPlugin } from "@kronos/service-kit";
import {
  AGENT_SESSION_TOKEN_PREFIX,
  API_KEY_PREFIX,
  AppError,
  apiKeyUsable,
  bearerCredential,
  hashApiKey,
  hasScope,
  hooksOf,
  isInfrastructureError,
  type Scope,
  safeEqual,
  type UnknownKeyGuard,
  USER_TOKEN_PREFIX,
  verifyUserToken,
} from "@kronos/shared";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AdminPrincipal, AgentSessionPrincipal, GatewayPrincipal, PrincipalKind } from "../context.js";

export interface AuthOptions {
  prisma: PrismaClient;
  adminToken: string;
  sessionSecret: string;
  /** API keys already looked up (by hash); none: every API-key request reads Postgres. */
  apiKeyCache?: ApiKeyCache | undefined;
  /** Bounds lookups of unknown keys (in-process memory, per-IP count); none: every unknown key reads Postgres. */
  unknownKeys?: UnknownKeyGuard | undefined;
  /** Records that a key was used (throttled by the caller); errors are the caller's to log. */
  touchApiKey?: ((apiKeyId: string) => void) | undefined;
}

export interface ApiKeyCacheOptions {
  /** How long a looked-up key is trusted without reading Postgres again (0 disables the cache). */
  ttlMs: number;
  /** At most this many keys are kept; the least recently used goes first. */
  maxEntries: number;
  now?: () => number;
}

export const API_KEY_CACHE_DEFAULTS: ApiKeyCacheOptions = { ttlMs: 30_000, maxEntries: 10_000 };

interface KeyOwner {
  tenantId: string;
  apiKeyId: string;
  scopes: readonly string[];
  /** When a rotated key stops working (ms since the epoch), or null. */
  expiresAt: number | null;
}

interface CachedKey {
  owner: KeyOwner;
  expiresAt: number;
}

/**
 * `keyHash -> { tenantId, apiKeyId }` of valid (unrevoked) API keys, in process, for `ttlMs`, at most `maxEntries`
 * (LRU). Only keys found valid are kept: an unknown key is looked up again on every request, so a key created a
 * moment ago works at once. Concurrent misses on the same key share one lookup.
 *
 * Revocation: `DELETE /api/v1/api-keys/{id}` publishes the key's hash (see api-key-revocations in packages/shared) and
 * every instance `forget`s it at once; `ttlMs` bounds how long an instance that missed the message still honours it.
 * A rotated key's end of overlap (`expiresAt`) is checked on every hit.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  private readonly pending = new Map<string, Promise<KeyOwner | null>>();
  private readonly now: () => number;
  /** The last key in `entries` (the most recently used), while it is there. */
  private newest: string | undefined;

  constructor(private readonly options: ApiKeyCacheOptions = API_KEY_CACHE_DEFAULTS) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The key's owner if it is cached and fresh (it becomes the most recently used), else undefined. An expired entry
   * stays (until replaced or evicted): `resolve` serves it when Postgres cannot be asked.
   */
  peek(keyHash: string): KeyOwner | undefined {
    if (this.options.ttlMs <= 0) return undefined;
    const hit = this.entries.get(keyHash);
    if (!hit) return undefined;
    const now = this.now();
    if (hit.owner.expiresAt !== null && hit.owner.expiresAt <= now) {
      // A rotated key past its overlap never works again: not even as a stale entry while Postgres is away.
      this.forget(keyHash);
      return undefined;
    }
    if (hit.expiresAt <= now) return undefined;
    if (this.newest !== keyHash) {
      // Most recently used last; already last (the common case under load from one key): nothing to move.
      this.entries.delete(keyHash);
      this.entries.set(keyHash, hit);
      this.newest = keyHash;
    }
    return hit.owner;
  }

  /** The key's owner from the cache, or from `load` (kept when it is not null). */
  async resolve(keyHash: string, load: () => Promise<KeyOwner | null>): Promise<KeyOwner | null> {
    if (this.options.ttlMs <= 0) return load();
    const hit = this.peek(keyHash);
    if (hit) return hit;
    const inFlight = this.pending.get(keyHash);
    if (inFlight) return inFlight;
    const lookup = load().then(
      (owner) => {
        if (owner) this.remember(keyHash, owner);
        else this.forget(keyHash);
        return owner;
      },
      (error: unknown) => {
        // Postgres unreachable: a key that was valid a moment ago keeps working from its expired entry. A revoked
        // key is not: the revocation broadcast `forget`s it on every instance (only an instance that missed the
        // message serves it, until Postgres answers again); a rotated key past its overlap is not either.
        const stale = this.entries.get(keyHash);
        const overlapEnded = stale !== undefined && stale.owner.expiresAt !== null && stale.owner.expiresAt <= this.now();
        if (stale && !overlapEnded && isInfrastructureError(error)) return stale.owner;
        throw error;
      },
    );
    this.pending.set(keyHash, lookup);
    try {
      return await lookup;
    } finally {
      this.pending.delete(keyHash);
    }
  }

  forget(keyHash: string): void {
    this.entries.delete(keyHash);
    if (this.newest === keyHash) this.newest = undefined;
  }

  private remember(keyHash: string, owner: KeyOwner): void {
    this.entries.delete(keyHash);
    this.entries.set(keyHash, { owner, expiresAt: this.now() + this.options.ttlMs });
    this.newest = keyHash;
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }
}

const KIND_NAMES: Record<PrincipalKind, string> = {
  api_key: "an API key",
  user: "a user token",
  admin: "the admin token",
  agent_session: "an agent session token",
};

/**
 * Reads `Authorization: Bearer <credential>` on every route that declares `config.auth` (the principals it
 * accepts) and sets `request.principal`. Routes without `config.auth` are public.
 *
 * The check is added to each such route as it is declared (`onRoute`), with its accepted principals at hand: a
 * global hook would run on public routes too and read `request.routeOptions`, which Fastify builds anew on every
 * read. Routes must therefore be declared after this plugin: buildGatewayApp registers it first (a test checks
 * every documented route).
 */
export const authPlugin = globalPlugin<AuthOptions>("auth", async (app, options) => {
  app.decorateRequest("principal", null);
  app.addHook("onRoute", (route) => {
    const accepted = route.config?.auth;
    if (!accepted) return;
    const scope = route.config?.scope;
    if (accepted.includes("api_key")) {
      if (!scope) throw new Error(`${route.method} ${route.url} accepts API keys but declares no scope (config.scope)`);
      showScope(route, scope);
    }
    // Before the route's own onRequest hooks, as a global hook would run.
    route.onRequest = [authenticateFor(accepted, scope, options), ...hooksOf(route.onRequest)];
  });
});

/** The route's OpenAPI security names its scope on the API-key scheme (swagger reads the schema after this hook). */
function showScope(route: { schema?: { security?: unknown } }, scope: Scope): void {
  const security = route.schema?.security;
  if (!Array.isArray(security)) return;
  route.schema!.security = security.map((requirement: Record<string, string[]>) =>
    "apiKey" in requirement ? { ...requirement, apiKey: [scope] } : requirement,
  );
}

function authenticateFor(accepted: readonly PrincipalKind[], scope: Scope | undefined, options: AuthOptions) {
  const forbidden = `This endpoint requires ${accepted.map((kind) => KIND_NAMES[kind]).join(" or ")}`;
  const unscoped = `This API key lacks the "${scope}" scope this endpoint requires`;
  // A callback hook: a credential known without a lookup (the common case) costs no promise.
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const credential = bearerCredential(request.headers.authorization);
    if (!credential) return done(new AppError("UNAUTHENTICATED", "Missing credential: send Authorization: Bearer <credential>"));
    const admit = (principal: GatewayPrincipal | null) => {
      if (!principal) return done(new AppError("UNAUTHENTICATED", "Invalid or expired credential"));
      if (!accepted.includes(principal.kind)) return done(new AppError("FORBIDDEN", forbidden));
      if (principal.kind === "api_key") {
        if (scope && !hasScope(principal.scopes, scope)) return done(new AppError("FORBIDDEN", unscoped, { scope }));
        options.touchApiKey?.(principal.apiKeyId);
      }
      request.principal = principal;
      done();
    };
    const known = knownPrincipal(credential, options);
    if (known !== undefined) return admit(known);
    const lookUp = credential.startsWith(AGENT_SESSION_TOKEN_PREFIX) ? lookUpAgentSession : lookUpApiKey;
    lookUp(credential, options, request.ip).then(admit, done);
  };
}

const apiKeyPrincipal = (owner: KeyOwner): GatewayPrincipal => ({
  kind: "api_key",
  tenantId: owner.tenantId,
  apiKeyId: owner.apiKeyId,
  scopes: owner.scopes,
});

/**
 * Who a credential belongs to when that is known without a lookup: user and admin tokens (null when invalid), API
 * keys in the cache. Undefined: an API key to look up (`lookUpApiKey`).
 */
function knownPrincipal(credential: string, options: AuthOptions): GatewayPrincipal | null | undefined {
  if (credential.startsWith(API_KEY_PREFIX)) {
    const owner = options.apiKeyCache?.peek(hashApiKey(credential));
    return owner ? apiKeyPrincipal(owner) : undefined;
  }
  if (credential.startsWith(AGENT_SESSION_TOKEN_PREFIX)) return undefined;
  if (credential.startsWith(USER_TOKEN_PREFIX)) {
    const check = verifyUserToken(credential, options.sessionSecret);
    if (!check.ok) return null;
    return { kind: "user", tenantId: check.claims.tenantId, userId: check.claims.userId, expiresAt: check.claims.exp };
  }
  if (safeEqual(credential, options.adminToken)) return { kind: "admin" } satisfies AdminPrincipal;
  return null;
}

/** An API key not in the cache: read from Postgres (and cached when valid). */
async function lookUpApiKey(credential: string, options: AuthOptions, ip?: string): Promise<GatewayPrincipal | null> {
  const keyHash = hashApiKey(credential);
  const load = async (): Promise<KeyOwner | null> => {
    const key = await options.prisma.apiKey.findUnique({
      where: { keyHash },
      select: { id: true, tenantId: true, scopes: true, expiresAt: true, revokedAt: true },
    });
    if (!key || !apiKeyUsable(key)) return null;
    return { tenantId: key.tenantId, apiKeyId: key.id, scopes: key.scopes, expiresAt: key.expiresAt?.getTime() ?? null };
  };
  const cached = () => (options.apiKeyCache ? options.apiKeyCache.resolve(keyHash, load) : load());
  const guard = options.unknownKeys;
  const owner = guard && ip !== undefined ? await guard.lookUp(ip, keyHash, cached) : await cached();
  return owner ? apiKeyPrincipal(owner) : null;
}

/**
 * An agent session token: read from Postgres on every request, never cached in a process, so that a revocation (or
 * the end of its time) is in force on every instance at once. Unknown tokens count against the same per-IP guard as
 * unknown API keys.
 */
async function lookUpAgentSession(credential: string, options: AuthOptions, ip?: string): Promise<GatewayPrincipal | null> {
  const tokenHash = hashApiKey(credential);
  const load = async () => {
    const found = await options.prisma.agentSession.findUnique({
      where: { tokenHash },
      select: { id: true, tenantId: true, userId: true, toolkits: true, tools: true, expiresAt: true, revokedAt: true },
    });
    return found && found.revokedAt === null && found.expiresAt.getTime() > Date.now() ? found : null;
  };
  const guard = options.unknownKeys;
  const session = guard && ip !== undefined ? await guard.lookUp(ip, tokenHash, load) : await load();
  if (!session) return null;
  return {
    kind: "agent_session",
    tenantId: session.tenantId,
    userId: session.userId,
    sessionId: session.id,
    expiresAt: session.expiresAt.getTime(),
    toolkits: session.toolkits.length > 0 ? session.toolkits : null,
    tools: session.tools.length > 0 ? session.tools : null,
  } satisfies AgentSessionPrincipal;
}
