/**
 * How one upstream attempt's answer is read and classified: done (a JSON
 * body, or a 404), retry (network errors, 429 and 5xx gateway statuses,
 * honouring `Retry-After`) or fatal (timeouts, bad or oversized bodies,
 * other statuses), with what to report of it to metrics and the breaker.
 *
 * @module
 */

import type { UpstreamAttempt, UpstreamResponse } from "./client.ts";
import { BodyTooLargeError, readBody } from "../http/read_body.ts";
import { contentLengthOf } from "../http/content_length.ts";
import { UpstreamError } from "./error.ts";
import { parseHttpDate } from "../http/conditional.ts";
import { metaOf, utf8ContentType } from "./answer_meta.ts";
import {
  assertShape,
  type JsonShape,
  parsedJson,
  withoutBom,
} from "./json_answer.ts";
import { stoppedBy, stoppedCall, stoppedOutcome } from "./stopped.ts";

/** Statuses worth another attempt. */
export const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * Parses `Retry-After` (delay-seconds or an HTTP-date, RFC 9110 10.2.3)
 * into milliseconds; anything else is `undefined` (ignored). The date is
 * read by the one HTTP-date parser (`parseHttpDate`), not `Date.parse`,
 * which took `1.5` for January 2001 and `Dec 6 2026` for a date.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = parseHttpDate(trimmed);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/**
 * An upstream body that arrived whole but does not decode by its
 * `Content-Encoding` (a corrupt gzip): the upstream's answer is bad, not
 * the connection, so it is not retried (another attempt gets the same
 * bytes) and counts once against the upstream (see
 * {@linkcode reportOfBodyError}).
 */
export class UndecodableBodyError extends UpstreamError {
  constructor(coding: string, cause: unknown) {
    super(
      502,
      `upstream answered a body that does not decode as its ` +
        `Content-Encoding (${coding})`,
      { cause },
    );
    this.name = "UndecodableBodyError";
  }
}

/**
 * The content coding of `response` when `error`, from reading its body, is
 * the decoder's rather than the connection's. Deno's fetch decodes the
 * body itself and fails with the decoder's words ("Invalid gzip header",
 * "deflate decompression error: ...", "unexpected end of file"); a broken
 * connection is hyper's "error reading a body from connection", decoded
 * or not.
 */
function undecodedCoding(
  error: unknown,
  response: Response,
): string | undefined {
  const coding = response.headers.get("content-encoding")?.trim();
  if (!coding || coding.toLowerCase() === "identity") return undefined;
  return error instanceof TypeError && !/\bconnection\b/.test(error.message)
    ? coding
    : undefined;
}

/**
 * Reads a body up to `maxBytes` into an exact-size buffer (502 past it,
 * and {@linkcode UndecodableBodyError} when it does not decode), without a
 * leading byte order mark: every upstream answer read here is stored or
 * passed on as plain JSON (json_answer.ts: `withoutBom`).
 */
export async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array> {
  const expectedBytes = contentLengthOf(response.headers);
  try {
    return withoutBom(
      await readBody(response.body, {
        maxBytes,
        ...(expectedBytes === undefined ? {} : { expectedBytes }),
      }),
    );
  } catch (error) {
    const coding = undecodedCoding(error, response);
    if (coding !== undefined) throw new UndecodableBodyError(coding, error);
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new UpstreamError(502, `upstream ${error.message}`, {
      cause: error,
    });
  }
}

/**
 * What an attempt whose body read failed with `error` (an
 * {@linkcode UpstreamError}) reports: an undecodable body counts against
 * the upstream for the breaker (a report without a status), once; an
 * oversized or malformed one, as before, does not.
 */
export function reportOfBodyError(
  error: UpstreamError,
  status: number,
): Report {
  return error instanceof UndecodableBodyError
    ? { outcome: "error" }
    : { outcome: "error", status };
}

/** The signals of one call: the caller's, and the deadline of it all. */
export interface Signals {
  caller: AbortSignal | undefined;
  deadline: AbortSignal;
}

/** What an attempt reports to metrics. */
export type Report = Omit<UpstreamAttempt, "durationMs">;

/** How an attempt ended, and what to report of it. */
export type Outcome =
  & { report: Report }
  & (
    | {
      kind: "done";
      response: Omit<UpstreamResponse, "attempts" | "durationMs">;
    }
    | {
      kind: "retry" | "fatal";
      error: UpstreamError;
      retryAfterMs?: number;
      /**
       * The failure is this process's (out of file descriptors), not the
       * upstream's: the breaker does not count it.
       */
      local?: true;
    }
  );

/**
 * Whether an attempt counts against the upstream for the breaker: an
 * error without a status is a write whose connection failed, or an answer
 * whose body did not decode.
 */
export function isFailure({ outcome, status }: Report): boolean {
  return outcome === "retry" || outcome === "timeout" ||
    (status === undefined ? outcome === "error" : status >= 500);
}

/** The outcome of a 429, 502, 503 or 504: retry, honouring `Retry-After`. */
export function retryable(response: Response): Outcome {
  const { status } = response;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  return {
    kind: "retry",
    error: new UpstreamError(502, `upstream answered ${status}`, {
      upstreamStatus: status,
      ...(retryAfterMs === undefined
        ? {}
        : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
    }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    report: { outcome: "retry", status },
  };
}

/** How an answer's body is read: from `base`, within `maxBytes` and time. */
export interface BodyReadOptions {
  base: string;
  maxBytes: number;
  timeoutMs: number;
  signals: Signals;
  /** From sending the request to the answer's head, ms. */
  responseDelayMs: number;
}

/**
 * Reads and checks a 2xx body from the upstream at `base`: JSON within
 * `maxBytes`, in time, of `shape` when given.
 */
export async function readJson(
  response: Response,
  options: BodyReadOptions & { shape?: JsonShape | undefined },
): Promise<Outcome> {
  const { maxBytes, timeoutMs, signals } = options;
  const { status } = response;
  const meta = metaOf(response, options.base, options.responseDelayMs);
  try {
    const body = await readCapped(response, maxBytes);
    assertShape(parsedJson(body, meta.contentType), options.shape);
    return {
      kind: "done",
      response: {
        status,
        body,
        ...meta,
        contentType: utf8ContentType(meta.contentType),
      },
      report: { outcome: "ok", status },
    };
  } catch (error) {
    return bodyFailure(error, status, { signals, timeoutMs });
  }
}

/**
 * The outcome of an attempt whose body (of an answer with `status`) could
 * not be read whole: the caller's abort rethrown, a stop, a timeout (504),
 * a bad body (502), or a broken connection (retried).
 */
function bodyFailure(
  error: unknown,
  status: number,
  { signals, timeoutMs }: { signals: Signals; timeoutMs: number },
): Outcome {
  if (signals.caller?.aborted) throw signals.caller.reason;
  if (stoppedBy(signals.deadline)) {
    return stoppedOutcome(stoppedCall(error), status);
  }
  if (signals.deadline.aborted) {
    return timedOut("body did not arrive", error, timeoutMs, status);
  }
  if (error instanceof UpstreamError) {
    return { kind: "fatal", error, report: reportOfBodyError(error, status) };
  }
  // The connection broke mid-body: as retryable as a refused one.
  return {
    kind: "retry",
    error: new UpstreamError(502, "upstream connection broke", {
      cause: error,
    }),
    report: { outcome: "retry", status },
  };
}

/**
 * Reads a 404's body to its end (within `maxBytes` and the deadline) and
 * drops it. A 404 is stored, in place of a stored answer: one whose body
 * broke off or never came is not the upstream's whole answer (RFC 9111 3.3),
 * and fails as a 2xx body would, so a stale copy stands in. Cancelled
 * unread, such a 404 replaced a stored post at once (a 200 before).
 */
export async function readNotFound(
  response: Response,
  options: BodyReadOptions,
): Promise<Outcome> {
  try {
    await readCapped(response, options.maxBytes);
  } catch (error) {
    return bodyFailure(error, response.status, options);
  }
  return bodilessAnswer(response, { ...options, conditional: false });
}

/**
 * The outcome of an answer other than a 2xx or a retryable status, its
 * body already discarded: a 404, or a 304 to a `conditional` request, is
 * done; anything else fatal.
 */
export function bodilessAnswer(
  response: Response,
  options: { base: string; conditional: boolean; responseDelayMs: number },
): Outcome {
  const { status } = response;
  if (status === 404 || (status === 304 && options.conditional)) {
    const meta = metaOf(response, options.base, options.responseDelayMs);
    return {
      kind: "done",
      response: { status, body: new Uint8Array(), ...meta },
      report: { outcome: status === 404 ? "not_found" : "ok", status },
    };
  }
  return {
    kind: "fatal",
    error: new UpstreamError(502, `upstream answered ${status}`, {
      upstreamStatus: status,
    }),
    report: { outcome: "error", status },
  };
}

/** The outcome of an attempt that ran out of time: 504, not retried. */
export function timedOut(
  what: string,
  cause: unknown,
  timeoutMs: number,
  status?: number,
): Outcome {
  return {
    kind: "fatal",
    error: new UpstreamError(
      504,
      `upstream ${what} within ${timeoutMs} ms`,
      { cause },
    ),
    report: status === undefined
      ? { outcome: "timeout" }
      : { outcome: "timeout", status },
  };
}
