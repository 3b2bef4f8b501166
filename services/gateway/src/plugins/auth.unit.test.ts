import { describe, expect, it } from "vitest";
import { ApiKeyCache } from "./auth.js";

const owner = (n: number) => ({ tenantId: `t${n}`, apiKeyId: `k${n}`, scopes: ["*"], expiresAt: null });

describe("ApiKeyCache", () => {
  it("serves a found key from memory until the TTL ends, then looks it up again", async () => {
    let now = 1_000;
    const cache = new ApiKeyCache({ ttlMs: 30_000, maxEntries: 10, now: () => now });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return owner(1);
    };
    expect(await cache.resolve("h1", load)).toEqual(owner(1));
    now += 29_999;
    expect(await cache.resolve("h1", load)).toEqual(owner(1));
    expect(loads).toBe(1);
    now += 1;
    expect(await cache.resolve("h1", load)).toEqual(owner(1));
    expect(loads).toBe(2);
  });

  it("does not keep unknown or revoked keys: a key created a moment later works at once", async () => {
    const cache = new ApiKeyCache({ ttlMs: 30_000, maxEntries: 10 });
    let exists = false;
    const load = async () => (exists ? owner(2) : null);
    expect(await cache.resolve("h2", load)).toBeNull();
    exists = true;
    expect(await cache.resolve("h2", load)).toEqual(owner(2));
    expect(cache.size).toBe(1);
  });

  it("keeps at most maxEntries keys, dropping the least recently used", async () => {
    const cache = new ApiKeyCache({ ttlMs: 30_000, maxEntries: 2 });
    const loaded: string[] = [];
    const loader = (hash: string, n: number) => async () => {
      loaded.push(hash);
      return owner(n);
    };
    await cache.resolve("a", loader("a", 1));
    await cache.resolve("b", loader("b", 2));
    await cache.resolve("a", loader("a", 1)); // a is now the most recent
    await cache.resolve("c", loader("c", 3)); // evicts b
    await cache.resolve("a", loader("a", 1));
    await cache.resolve("b", loader("b", 2));
    expect(loaded).toEqual(["a", "b", "c", "b"]);
    expect(cache.size).toBe(2);
  });

  it("shares one lookup between concurrent misses, and can be turned off", async () => {
    const cache = new ApiKeyCache({ ttlMs: 30_000, maxEntries: 10 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return owner(3);
    };
    const results = await Promise.all([cache.resolve("h3", load), cache.resolve("h3", load), cache.resolve("h3", load)]);
    expect(results).toEqual([owner(3), owner(3), owner(3)]);
    expect(loads).toBe(1);

    const off = new ApiKeyCache({ ttlMs: 0, maxEntries: 10 });
    await off.resolve("h4", load);
    await off.resolve("h4", load);
    expect(loads).toBe(3);
    expect(off.size).toBe(0);
  });

  it("peeks without loading: a fresh key's owner, nothing for an expired or unknown one", async () => {
    let now = 1_000;
    const cache = new ApiKeyCache({ ttlMs: 30_000, maxEntries: 2, now: () => now });
    expect(cache.peek("p1")).toBeUndefined();
    await cache.resolve("p1", async () => owner(1));
    await cache.resolve("p2", async () => owner(2));
    expect(cache.peek("p1")).toEqual(owner(1)); // p1 is now the most recent
    await cache.resolve("p3", async () => owner(3)); // evicts p2
    expect(cache.peek("p2")).toBeUndefined();
    expect(cache.peek("p1")).toEqual(owner(1));
    now += 30_000;
    expect(cache.peek("p1")).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("forgets a key on demand", async () => {
    const cache = new ApiKeyCache({ ttlMs: 30_000, maxEntries: 10 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return owner(5);
    };
    await cache.resolve("h5", load);
    cache.forget("h5");
    await cache.resolve("h5", load);
    expect(loads).toBe(2);
  });
});
