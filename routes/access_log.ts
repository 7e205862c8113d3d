/**
 * One metrics sample and one JSON access-log line per request. The sample
 * and the line's `durationMs` are taken at the answer's head. The line of
 * an answer whose body is streamed (a stored file, a large answer from
 * memory) waits for the body's end, so that `bytes` is what its
 * connection took (services/http/send_tally.ts), not the length announced:
 * a download cut at shutdown or left by its client logged its whole
 * length. Such a line also says why the body was `cut`. Each line names
 * the `client` (the peer, or behind a trusted proxy the address it
 * forwards): without it nothing told who sent a flood or a refused upload.
 *
 * @module
 */

import { KNOWN_METHODS } from "../services/http/methods.ts";
import type { SendTally } from "../services/http/send_tally.ts";
import type { Logger } from "../services/ops/logger.ts";
import type { Metrics } from "../services/ops/metrics.ts";

/** What the line tells of the request. */
export interface LoggedRequest {
  readonly method: string;
  /** `performance.now()` when the request came in. */
  readonly started: number;
  readonly pathname: string;
  readonly route: string | undefined;
  readonly requestId: string;
  /**
   * The client's address: the peer's, or behind a trusted proxy
   * (`TRUSTED_PROXIES`) the one it names; `undefined` when unknown.
   */
  readonly client: string | undefined;
  /** The route's own fields (`cache`, an upload's figures). */
  readonly log: Record<string, unknown>;
}

/** The answer as the line tells it. */
export interface LoggedAnswer {
  status: number;
  /** The body's length (announced, for a streamed body). */
  bytes: number;
}

/** Where the sample and the line go. */
export interface AccessLogSinks {
  logger: Logger;
  metrics: Metrics;
}

/**
 * One metrics sample now, one access-log line now or, with the `tally` of
 * a streamed body, at the body's end.
 */
export function record(
  ctx: LoggedRequest,
  { status, bytes }: LoggedAnswer,
  tally: SendTally | undefined,
  { logger, metrics }: AccessLogSinks,
): void {
  const { method } = ctx;
  const seconds = (performance.now() - ctx.started) / 1000;
  metrics.request(
    ctx.route ?? "unmatched",
    KNOWN_METHODS.has(method) ? method : "OTHER",
    status,
    seconds,
  );
  // No line below info (LOG_LEVEL=warn): the client (a trusted-proxy
  // header parsed) is not worked out for nothing.
  if (!logger.enabled("info")) return;
  // Read now: once a streamed body ends, the runtime has closed the
  // request, and asking its peer then throws ("Request closed").
  const client = ctx.client;
  if (tally === undefined) {
    return line(ctx, seconds, { status, bytes, client }, logger);
  }
  tally.whenEnded(({ bytes, end }) => {
    const cut = end === "sent" ? undefined : end;
    line(ctx, seconds, { status, bytes, cut, client }, logger);
  });
}

/** What one line says of the answer. */
interface LineFields extends LoggedAnswer {
  /** Why the body was cut short (left out of the line when undefined). */
  cut?: string | undefined;
  /** {@linkcode LoggedRequest.client}, read at the answer's head. */
  client: string | undefined;
}

/**
 * The most of a path or method a line keeps. Both are the client's: a 60 KB
 * path (the runtime takes up to ~64 KiB) made a 60 KB line, 250 times an
 * ordinary one, from a 404; a 20 KB extension method, likewise (501). Cut
 * here, a request line stays under 3 KB whatever the client sends.
 */
const MAX_LOGGED = 1024;

/** `text` cut to {@linkcode MAX_LOGGED}, marked by a trailing `…`. */
function clipped(text: string): string {
  return text.length > MAX_LOGGED ? text.slice(0, MAX_LOGGED) + "…" : text;
}

/** The access-log line; `seconds` is the time to the answer's head. */
function line(
  ctx: LoggedRequest,
  seconds: number,
  { status, bytes, cut, client }: LineFields,
  logger: Logger,
): void {
  const { method, pathname } = ctx;
  logger.info("request", {
    method: clipped(method),
    path: clipped(pathname),
    route: ctx.route,
    status,
    durationMs: Math.round(seconds * 100_000) / 100,
    bytes,
    cut,
    requestId: ctx.requestId,
    client,
    ...ctx.log,
  });
}
