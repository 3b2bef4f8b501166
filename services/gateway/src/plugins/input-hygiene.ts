import { globalPlugin } from "@kronos/service-kit";
import { AppError, findUnstorableText } from "@kronos/shared";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Input no route can use is refused with 400 before any handler sees it, so that nothing of it is queued, stored or
 * sent to Composio: a NUL or a lone surrogate in any string or key of the body, the query or the path parameters
 * (Postgres cannot store them, and no name, id or argument of ours needs them). Bodies nested too deep are refused
 * by the service kit's JSON parser.
 */
export const inputHygienePlugin = globalPlugin("input-hygiene", async (app) => {
  app.addHook("preValidation", (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    for (const [part, value] of [
      ["params", request.params],
      ["querystring", request.query],
      ["body", request.body],
    ] as const) {
      const at = findUnstorableText(value, part);
      if (at !== null) {
        return done(
          new AppError("VALIDATION_FAILED", "The request is invalid", [
            { field: at, message: "must not contain NUL characters or unpaired surrogates" },
          ]),
        );
      }
    }
    done();
  });
});
