import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import fastifyStatic from "@fastify/static";
import { AppError, type ConsoleConfig } from "@kronos/shared";
import type { FastifyInstance } from "fastify";

export const CONSOLE_PATH = "/console";

/** Where `pnpm build` leaves the console (packages/console/dist), found through the workspace dependency. */
export function consoleDistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("@kronos/console/package.json")), "dist");
}

/**
 * Only what the console needs: its own scripts, styles and images, our API (same origin) and the feed (another
 * port, hence its origin by name). No inline script or style, no frames, no plugins, no form posts elsewhere.
 */
export function consoleContentSecurityPolicy(feedUrl: string): string {
  const feed = new URL(feedUrl);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${feed.protocol}//${feed.host}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
}

/** Vite names every built asset after its content hash: such a file never changes, so it may be kept for a year. */
export const IMMUTABLE_ASSET = "public, max-age=31536000, immutable";
/** index.html (and the config) change with every deployment: always revalidated, so a new build is seen at once. */
export const REVALIDATE = "no-cache";

/**
 * The console (packages/console) at /console/: its built files, with immutable caching for hashed assets and
 * revalidation for index.html, its own Content-Security-Policy, and /console/config.json for what it cannot know
 * from its origin (the feed's URL). A scope of its own, so the policy covers exactly these routes.
 */
export async function consolePlugin(app: FastifyInstance, options: { distDir: string; feedUrl: string }): Promise<void> {
  const policy = consoleContentSecurityPolicy(options.feedUrl);
  // After the security plugin's page headers (a global onRequest hook, which runs first): this policy replaces helmet's.
  app.addHook("onRequest", (_request, reply, done) => {
    reply.header("content-security-policy", policy);
    done();
  });

  const config: ConsoleConfig = { feed_url: options.feedUrl };
  app.get(`${CONSOLE_PATH}/config.json`, { schema: { hide: true } }, async (_request, reply) => {
    reply.header("cache-control", "no-store");
    return config;
  });
  app.get(CONSOLE_PATH, { schema: { hide: true } }, async (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 301));

  if (!existsSync(join(options.distDir, "index.html"))) {
    app.log.warn({ distDir: options.distDir }, "the console is not built: /console answers 503 (run the build)");
    app.get(`${CONSOLE_PATH}/*`, { schema: { hide: true } }, async () => {
      throw new AppError("UNAVAILABLE", "The console is not built: run `pnpm build`");
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: options.distDir,
    prefix: `${CONSOLE_PATH}/`,
    index: ["index.html"],
    cacheControl: false,
    setHeaders(reply, path) {
      reply.header("cache-control", /[\\/]assets[\\/]/.test(path) ? IMMUTABLE_ASSET : REVALIDATE);
    },
  });
}
