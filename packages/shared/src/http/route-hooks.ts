/**
 * A route option's hooks as a list (Fastify accepts none, one function or an array): for `onRoute` hooks that add
 * a hook of their own to a route as it is declared.
 */
export const hooksOf = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
