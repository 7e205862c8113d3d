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
 * it changes. Per request, as the service does, from the same six request
 * headers the service reads on a cached hit: `Host` checked (400 when it is
 * no host and port), `X-Request-Id` echoed when well-formed and else a new
 * one (`crypto.randomUUID()`), the CORS headers when there is an `Origin`,
 * the body in `br` or `gzip` with a weak `ETag` when `Accept-Encoding`
 * takes one (encoded once at start, as the service keeps its variants),
 * `If-Match` read (412 when it names another tag), `If-None-Match`
 * answered with 304; `Age` from when the entry was stored and the TTL left
 * in `Cache-Status`, the `Server-Timing` duration, and the log record's
 * time, duration, request id and client (the peer's address, read from the
 * handler's info as the service reads it). Every other header and log
 * field is the service's own value.
 * Lines are written by the service's own logger (`services/ops/logger.ts`:
 * batched once per turn of the event loop). Without those reads the peer
 * answered a request with `X-Request-Id`, `Origin` or `Accept-Encoding`
 * otherwise than the service, and skipped four of its six header reads
 * (bench/PROFILE.md, thirteenth round).
 *
 * Run: `deno run -A bench/equivalent_server.ts spec.json [--guarded]`; with
 * `--guarded` it serves through the service's connection layer
 * (`services/server/http_server.ts`) instead of plain `Deno.serve`.
 *
 * @module
 */

import { clientAddress, requestIdOf } from "../routes/pipeline.ts";
import { codingOf } from "../services/http/accept_encoding.ts";
import { EXPOSED_HEADERS } from "../services/http/cors.ts";
import { type Coding, encode } from "../services/http/encoders.ts";
import { servedHost } from "../services/http/request_target.ts";
import { createLogger, type Logger } from "../services/ops/logger.ts";
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
const stdoutLogger = createLogger();

/** The spec's body in each coding the service sends (see {@linkcode encodedBodies}). */
export type EncodedBodies = Readonly<Record<Coding, Uint8Array>>;

/**
 * `spec`'s body in `br` and `gzip`, encoded as the service encodes it
 * (services/http/encoders.ts), once: the service keeps the encoded
 * variants of an answer, so a hit encodes nothing either.
 */
export async function encodedBodies(
  spec: EquivalentSpec,
): Promise<EncodedBodies> {
  const body = new TextEncoder().encode(spec.body);
  const [br, gzip] = await Promise.all([
    encode(body, "br"),
    encode(body, "gzip"),
  ]);
  return { br, gzip };
}

/** One answer of {@linkcode answerHandler}, for its log line. */
export interface Answered {
  path: string;
  status: number;
  bytes: number;
  requestId: string;
  /** The peer's address, as the service's line names the client. */
  client: string | undefined;
  /** `performance.now()` when the request came in. */
  started: number;
}

/** What {@linkcode answerHandler} needs besides the spec. */
export interface AnswerOptions {
  /** The body in each coding (see {@linkcode encodedBodies}). */
  encoded: EncodedBodies;
  /** Called for each answer (the log line); none: no record is built. */
  onAnswer?: (req: Request, answered: Answered) => void;
}

/**
 * Answers `spec.path` as the service does, with the per-request values and
 * the decisions the service takes from the request's headers (see the
 * module doc), and calls `onAnswer` (the log line) for each answer.
 * Without `onAnswer` it is the benchmark's "per-request values, no log"
 * rung (`bench/ladder_server.ts`).
 */
export function answerHandler(
  spec: EquivalentSpec,
  { encoded, onAnswer }: AnswerOptions,
): (req: Request, info?: Deno.ServeHandlerInfo) => Response {
  const body = new TextEncoder().encode(spec.body);
  const storedAt = Date.now();
  const etag = spec.headers.find(([name]) => name === "etag")?.[1];
  const headOf = headMaker(spec);
  return (req, info) => {
    const started = performance.now();
    const url = req.url;
    const path = url.slice(url.indexOf("/", 8));
    if (path !== spec.path) return new Response(null, { status: 404 });
    // The service's six reads, in its order.
    const requestHeaders = req.headers;
    if (!servedHost(requestHeaders.get("host"))) {
      return new Response(null, { status: 400 });
    }
    const requestId = requestIdOf(requestHeaders);
    const origin = requestHeaders.get("origin");
    const ageSeconds = Math.floor((Date.now() - storedAt) / 1000);
    const ms = Math.round((performance.now() - started) * 100) / 100;
    const headers = headOf(requestId, ageSeconds, ms, origin);
    // The service's preconditions (RFC 9110 13.2.2): `If-Match` first (412
    // when it names another tag; the bench never sends one), then
    // `If-None-Match` (304).
    const ifMatch = requestHeaders.get("if-match");
    if (ifMatch !== null && ifMatch !== "*" && ifMatch !== etag) {
      return new Response(null, { status: 412, headers: { etag: etag! } });
    }
    const notModified = etag !== undefined &&
      requestHeaders.get("if-none-match") === etag;
    const coding = codingOf(requestHeaders.get("accept-encoding"));
    if (coding !== undefined && etag !== undefined) headers.etag = `W/${etag}`;
    if (coding !== undefined && !notModified) {
      headers["content-encoding"] = coding;
    }
    const status = notModified ? 304 : spec.status;
    const sent = notModified
      ? null
      : coding === undefined
      ? body
      : encoded[coding];
    // Optional call: without a log the record is not even built.
    onAnswer?.(req, {
      path,
      status,
      bytes: sent?.byteLength ?? 0,
      requestId,
      client: clientAddress(info),
      started,
    });
    return new Response(sent as Uint8Array<ArrayBuffer> | null, {
      status,
      headers,
    });
  };
}

/**
 * The head of `spec`'s answer with a request's values: its request id,
 * `Age`, the TTL left in `Cache-Status`, the `Server-Timing` duration, and
 * the CORS headers when it has an `Origin`. A fresh record, as the service
 * hands the runtime its head: the cheapest form Deno 2.9.6 takes (pairs
 * cost ~21 % more instructions per answer here; bench/PROFILE.md, eleventh
 * round).
 */
function headMaker(
  spec: EquivalentSpec,
): (
  requestId: string,
  ageSeconds: number,
  ms: number,
  origin: string | null,
) => Record<string, string> {
  const timing = spec.headers.find(([name]) => name === "server-timing")?.[1];
  // Around the duration, found once: the service writes the value from a
  // template per hit, so a regex replace per request would be work the
  // service does not do.
  const dur = timing === undefined ? null : /dur=[\d.]+/.exec(timing);
  const [timingHead, timingTail] = timing === undefined || dur === null
    ? ["", ""]
    : [timing.slice(0, dur.index + 4), timing.slice(dur.index + dur[0].length)];
  // The spec's head as a record, copied per answer and its three
  // per-request values set in place: what a hand-written handler does. A
  // loop over the spec's pairs with a keyed store per header cost this peer
  // 1.2-1.9k instructions, 60-70 I1 and ~70 D1 read misses per hit more
  // (callgrind, bench/PROFILE.md, fourteenth round): work the service's
  // literal does not do.
  const template: Record<string, string> = Object.fromEntries(spec.headers);
  const [hasId, hasAge] = ["x-request-id" in template, "age" in template];
  const ttlLeft = ttlMaker(spec);
  return (requestId, ageSeconds, ms, origin) => {
    const headers: Record<string, string> = { ...template };
    if (hasId) headers["x-request-id"] = requestId;
    if (hasAge) headers.age = String(ageSeconds);
    if (ttlLeft !== undefined) headers["cache-status"] = ttlLeft(ageSeconds);
    if (dur !== null) {
      headers["server-timing"] = `${timingHead}${ms}${timingTail}`;
    }
    if (origin !== null) {
      headers["access-control-allow-origin"] = "*";
      headers["access-control-expose-headers"] = EXPOSED_HEADERS;
      headers["timing-allow-origin"] = "*";
    }
    return headers;
  };
}

/**
 * The service's `Cache-Status` for an entry `ageSeconds` old, when the
 * spec's has a `ttl=`: the TTL left goes down as `Age` goes up (the
 * lifetime is the spec's TTL plus its `Age`), one string per second as the
 * service makes it (services/cache/headers.ts). A constant one was a
 * byte on the wire the service did not send once a second had passed
 * (bench/PROFILE.md, seventeenth round). `undefined`: no `ttl=` to move.
 */
function ttlMaker(
  spec: EquivalentSpec,
): ((ageSeconds: number) => string) | undefined {
  const status = spec.headers.find(([name]) => name === "cache-status")?.[1];
  const age = Number(spec.headers.find(([name]) => name === "age")?.[1]);
  const ttl = status === undefined ? null : /ttl=(\d+)/.exec(status);
  if (ttl === null || !Number.isInteger(age)) return undefined;
  const lifetime = Number(ttl[1]) + age;
  const [head, tail] = [
    status!.slice(0, ttl.index + 4),
    status!.slice(ttl.index + ttl[0].length),
  ];
  let lastAge = -1;
  let last = status!;
  return (ageSeconds) => {
    if (ageSeconds !== lastAge) {
      lastAge = ageSeconds;
      last = `${head}${lifetime - ageSeconds}${tail}`;
    }
    return last;
  };
}

/** Options of {@linkcode equivalentHandler}. */
export interface EquivalentOptions {
  /**
   * Where the log line goes: the service's own stdout logger (batched, so a
   * test that gives none has writes in flight when it ends).
   */
  logger?: Logger;
}

/** The request handler for `spec`: its answers and its log line. */
export function equivalentHandler(
  spec: EquivalentSpec,
  encoded: EncodedBodies,
  options: EquivalentOptions = {},
): (req: Request, info?: Deno.ServeHandlerInfo) => Response {
  const { logger = stdoutLogger } = options;
  const { time: _time, level: _level, msg, ...fields } = spec.log;
  return answerHandler(spec, {
    encoded,
    onAnswer: (req, { path, status, bytes, requestId, client, started }) =>
      logger.info(String(msg), {
        ...fields,
        method: req.method,
        path,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        bytes,
        requestId,
        client,
      }),
  });
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
      stdoutLogger.info("listening", { url: `http://${hostname}:${port}` }),
  };
  // --guarded: under the service's own connection layer (its accept loop,
  // connection cap, header and keep-alive timeouts; its defaults), which
  // the report sets apart from the service's own per-request work.
  const handler = equivalentHandler(spec, await encodedBodies(spec));
  if (mode === "--guarded") {
    serveGuarded({ ...listen, handler, logger: stdoutLogger });
  } else Deno.serve(listen, handler);
}
