// Libraries the services depend on but the repository root does not (pnpm does not hoist them): resolved from the
// workspace package that owns them, so the benchmark uses the very same versions as the services.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const root = new URL("../../", import.meta.url);

async function importFrom<T>(pkgDir: string, name: string): Promise<T> {
  const require = createRequire(new URL(`${pkgDir}/package.json`, root));
  const mod = (await import(pathToFileURL(require.resolve(name)).href)) as T & { default?: T };
  return mod;
}

type BullMQ = typeof import("bullmq");
type FastifyModule = typeof import("fastify");

export const bullmq = await importFrom<BullMQ>("packages/shared", "bullmq");
const fastifyModule = await importFrom<FastifyModule & { default: FastifyModule["default"] }>("services/gateway", "fastify");
export const Fastify = (fastifyModule.default ?? fastifyModule) as FastifyModule["default"];
