import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { globalPlugin } from "./global-plugin.js";

export const REQUEST_ID_HEADER = "x-request-id";
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours a caller's `x-request-id` when it is a sane token; otherwise a new UUID. */
export function genRequestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Echoes the request id on every response, so that callers can quote it. */
export const requestIdPlugin = globalPlugin("request-id", async (app) => {
  app.addHook("onRequest", (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
});
