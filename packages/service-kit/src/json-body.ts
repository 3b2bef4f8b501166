import type { FastifyInstance } from "fastify";

/**
 * JSON bodies as Fastify parses them (same limits, same prototype-poisoning refusal), except that an EMPTY body with
 * `Content-Type: application/json` is no body rather than a 400: axios in Node, and many SDKs, send that header on
 * every request, including a body-less POST or DELETE. The route's schema still decides whether a body is needed.
 *
 * Every other content type is refused (415): the text/plain parser Fastify adds by default is removed.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body.length === 0) return done(null, undefined);
    parseJson(request, body as string, done);
  });
}
