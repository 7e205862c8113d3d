/**
 * The rungs between the minimal `Deno.serve` and the feature-equivalent peer
 * of the cached-GET benchmark (issue 11): each adds one thing, so the
 * benchmark shows where the distance between the two goes.
 *
 * 1. `minimal` (`bench/minimal_server.ts`): the body and one `Content-Type`;
 * 2. `second-header`: the same and the service's `ETag`, both constant. Deno
 *    sends a 200 with at most a `Content-Type` on a fast path of its own;
 *    any second header leaves it;
 * 3. `all-headers`: the service's whole header set with the values of one
 *    answer, constant (the cost of the header count);
 * 4. `values`: the same with the per-request values (request id from
 *    `crypto.randomUUID()`, `Age`, the `Server-Timing` duration) and the
 *    decisions the service takes from the request's six headers (`Host`,
 *    `X-Request-Id`, CORS, 412/304, the coding), no log line;
 * 5. `equivalent` (`bench/equivalent_server.ts`): the same and the log line.
 *
 * What to send comes from the spec file the benchmark writes for the
 * equivalent peer, so every rung follows the service's answer.
 *
 * Run: `deno run -A bench/ladder_server.ts spec.json <rung>`
 *
 * @module
 */

import { createLogger } from "../services/ops/logger.ts";
import {
  answerHandler,
  type EncodedBodies,
  encodedBodies,
  type EquivalentSpec,
} from "./equivalent_server.ts";

/** The rungs this file serves, lightest first. */
export const LADDER_RUNGS = ["second-header", "all-headers", "values"] as const;
/** One rung served by this file. */
export type LadderRung = typeof LADDER_RUNGS[number];

/** The header pair of the `second-header` rung: `Content-Type` and `ETag`. */
function twoHeaders(spec: EquivalentSpec): [string, string][] {
  const pick = (wanted: string) => {
    const header = spec.headers.find(([name]) => name === wanted);
    if (!header) throw new TypeError(`the spec has no ${wanted} header`);
    return header;
  };
  return [pick("content-type"), pick("etag")];
}

/**
 * The request handler of `rung` for `spec`; `encoded` (its body in each
 * coding, see `encodedBodies`) is what the `values` rung sends a client
 * that takes one.
 */
export function ladderHandler(
  spec: EquivalentSpec,
  rung: LadderRung,
  encoded: EncodedBodies,
): (req: Request) => Response {
  if (rung === "values") return answerHandler(spec, { encoded });
  const body = new TextEncoder().encode(spec.body);
  // A record, as the service and the feature-equivalent pass their heads.
  const headers: Record<string, string> = {};
  const pairs = rung === "second-header" ? twoHeaders(spec) : spec.headers;
  for (const [name, value] of pairs) headers[name] = value;
  const status = rung === "second-header" ? 200 : spec.status;
  return () => new Response(body, { status, headers });
}

if (import.meta.main) {
  const [specPath, rung] = Deno.args;
  if (!specPath || !LADDER_RUNGS.includes(rung as LadderRung)) {
    throw new TypeError(
      `usage: ladder_server.ts <spec.json> <${LADDER_RUNGS.join("|")}>`,
    );
  }
  const spec: EquivalentSpec = JSON.parse(await Deno.readTextFile(specPath));
  const logger = createLogger();
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ hostname, port }) =>
      logger.info("listening", { url: `http://${hostname}:${port}` }),
  }, ladderHandler(spec, rung as LadderRung, await encodedBodies(spec)));
}
