import type { FastifyPluginAsync, FastifyPluginOptions } from "fastify";

/**
 * Marks a plugin as not encapsulated, so that its hooks, decorators and handlers apply to the whole app: what
 * `fastify-plugin` does, without the dependency.
 */
export function globalPlugin<O extends FastifyPluginOptions>(name: string, plugin: FastifyPluginAsync<O>): FastifyPluginAsync<O> {
  Object.assign(plugin, { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: name });
  return plugin;
}
