/**
 * The server's last-resort answer, when a handler throws: what
 * `http_server.ts` (and its `Deno.serve` fallback) send, and what
 * `main.ts` answers with when the app itself fails.
 *
 * @module
 */

import { CORS_WITHOUT_REQUEST } from "../http/cors.ts";
import { NOSNIFF } from "../http/nosniff.ts";
import { problem } from "../http/problem.ts";

/**
 * The last-resort answer when the handler throws: a 500 problem, nothing
 * of the error in it, with the CORS headers every answer has (the
 * request's `Origin` is not known here: see CORS_WITHOUT_REQUEST) and the
 * `nosniff` they have.
 */
export function internalErrorAnswer(): Response {
  return problem(500, {
    detail: "The server failed to handle the request",
  }, { headers: { ...CORS_WITHOUT_REQUEST, ...NOSNIFF } });
}
