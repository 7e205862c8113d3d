/**
 * The "feature-equivalent" peer of the cached-GET benchmark (issue 11): a
 * hand-written `Deno.serve` that answers `GET /posts/1` with the same status,
 * body and headers as the service's cached answer and writes the same JSON
 * log line, and does nothing else. It is the most this runtime can do for
 * what the service promises, so the service's distance from it is its own
 * overhead.
 *
 * What to send comes from a spec file (first argument), written by
 * `bench/cached_get.ts` from a real cached answer and a real log line of the
 * service in the same run, so the peer follows the service's header set as
 * it changes. Per request, as the service does: a new `X-Request-Id`
 * (`crypto.randomUUID()`), `Age` from when the entry was stored, the
 * `Server-Timing` duration, `If-Match` read (412 when it names another
 * tag), `If-None-Match` answered with 304, and the log record's time,
 * duration and request id; every other header and log field
 * is the service's own value. Lines are written by the service's own logger
 * (`services/ops/logger.ts`: batched once per turn of the event loop).
 *
 * Run: `deno run -A bench/equivalent_server.ts spec.json [--guarded]`; with
 * `--guarded` it serves through the service's connection layer
 * (`services/server/http_server.ts`) instead of plain `Deno.serve`.
 *
 * @module
 */

import { createLogger } from "../services/ops/logger.ts";
import { serveGuarded } from "../services/server/http_server.ts";

/** What the peer sends and logs, taken from the service. */
export interface EquivalentSpec {
  path: string;
  status: number;
  body: string;
  /** Response headers in the service's order (no `date`, `content-length`). */
  headers: [string, string][];
  /** One `msg: "request"` record of a cached hit, as the service logged it. */
  log: Record<string, unknown>;
}

// The service's own logger: the same line, batched the same way.
const logger = createLogger();

/** One answer of {@linkcode answerHandler}, for its log line. */
export interface Answered {
  path: string;
  status: number;
  bytes: number;
  requestId: string;
  /** `performance.now()` when the request came in. */
  started: number;
}

/**
 * Answers `spec.path` as the service does, with the per-request values
 * (request id, `Age`, `Server-Timing` duration, 304 on a matching
 * `If-None-Match`), and calls `onAnswer` (the log line) for each answer.
 * Without `onAnswer` it is the benchmark's "per-request values, no log"
 * rung (`bench/ladder_server.ts`).
 */
export function answerHandler(
  spec: EquivalentSpec,
  onAnswer?: (req: Request, answered: Answered) => void,
): (req: Request) => Response {
  const body = new TextEncoder().encode(spec.body);
  const storedAt = Date.now();
  const etag = spec.headers.find(([name]) => name === "etag")?.[1];
  const timing = spec.headers.find(([name]) => name === "server-timing")?.[1];
  return (req) => {
    const started = performance.now();
    const url = req.url;
    const path = url.slice(url.indexOf("/", 8));
    if (path !== spec.path) return new Response(null, { status: 404 });
    const requestId = crypto.randomUUID();
    const ageSeconds = String(Math.floor((Date.now() - storedAt) / 1000));
    const ms = Math.round((performance.now() - started) * 100) / 100;
    // A fresh record, as the service hands the runtime its head: the
    // cheapest form Deno 2.9.6 takes (pairs cost ~21 % more instructions
    // per answer here; bench/PROFILE.md, eleventh round).
    const headers: Record<string, string> = {};
    for (const [name, value] of spec.headers) {
      headers[name] = name === "x-request-id"
        ? requestId
        : name === "age"
        ? ageSeconds
        : name === "server-timing" && timing
        ? timing.replace(/dur=[\d.]+/, `dur=${ms}`)
        : value;
    }
    // The service's preconditions (RFC 9110 13.2.2): `If-Match` first (412
    // when it names another tag; the bench never sends one), then
    // `If-None-Match` (304).
    const requestHeaders = req.headers;
    const ifMatch = requestHeaders.get("if-match");
    if (ifMatch !== null && ifMatch !== "*" && ifMatch !== etag) {
      return new Response(null, { status: 412, headers: { etag: etag! } });
    }
    const notModified = etag !== undefined &&
      requestHeaders.get("if-none-match") === etag;
    const status = notModified ? 304 : spec.status;
    // Optional call: without a log the record is not even built.
    onAnswer?.(req, {
      path,
      status,
      bytes: notModified ? 0 : body.byteLength,
      requestId,
      started,
    });
    return new Response(notModified ? null : body, { status, headers });
  };
}

/** The request handler for `spec`: its answers and its log line. */
export function equivalentHandler(
  spec: EquivalentSpec,
): (req: Request) => Response {
  const { time: _time, level: _level, msg, ...fields } = spec.log;
  return answerHandler(
    spec,
    (req, { path, status, bytes, requestId, started }) =>
      logger.info(String(msg), {
        ...fields,
        method: req.method,
        path,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        bytes,
        requestId,
      }),
  );
}

if (import.meta.main) {
  const [specPath, mode] = Deno.args;
  if (!specPath || (mode !== undefined && mode !== "--guarded")) {
    throw new Error("usage: equivalent_server.ts <spec.json> [--guarded]");
  }
  const spec: EquivalentSpec = JSON.parse(await Deno.readTextFile(specPath));
  const listen = {
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ hostname, port }: Deno.NetAddr) =>
      logger.info("listening", { url: `http://${hostname}:${port}` }),
  };
  // --guarded: under the service's own connection layer (its accept loop,
  // connection cap, header and keep-alive timeouts; its defaults), which
  // the report sets apart from the service's own per-request work.
  const handler = equivalentHandler(spec);
  if (mode === "--guarded") serveGuarded({ ...listen, handler, logger });
  else Deno.serve(listen, handler);
}
