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
import { UpstreamError } from "./error.ts";
import { originValidatorsOf } from "../http/origin_validators.ts";
import {
  type LinkElement,
  type Pagination,
  parseLink,
  totalCountOf,
} from "../http/pagination.ts";
import { upstreamPath } from "./upstream_path.ts";

/** Statuses worth another attempt. */
export const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The declared `Content-Length`, when it is a plain number. */
function declaredLength(response: Response): number | undefined {
  const value = response.headers.get("content-length")?.trim();
  if (!value || !/^\d+$/.test(value)) return undefined;
  // Absurd lengths stay absurd (over any cap) rather than lose precision.
  return Math.min(Number(value), Number.MAX_SAFE_INTEGER);
}

/** Reads a body up to `maxBytes` into an exact-size buffer (502 past it). */
export async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array> {
  const expectedBytes = declaredLength(response);
  try {
    return await readBody(response.body, {
      maxBytes,
      ...(expectedBytes === undefined ? {} : { expectedBytes }),
    });
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new UpstreamError(502, `upstream ${error.message}`, {
      cause: error,
    });
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function assertJson(body: Uint8Array, contentType: string): void {
  if (!/\bjson\b/i.test(contentType)) {
    throw new UpstreamError(
      502,
      `upstream answered with ${contentType || "no content type"}, not JSON`,
    );
  }
  try {
    JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new UpstreamError(502, "upstream answered with malformed JSON", {
      cause,
    });
  }
}

/**
 * The paging headers of an answer from the upstream at `base`, its `Link`
 * targets as paths on this service; targets elsewhere are left out (this
 * service does not vouch for them, nor show where its upstream lives).
 */
export function paginationOf(
  headers: Headers,
  base: string,
): Pagination | undefined {
  const totalCount = totalCountOf(headers.get("x-total-count"));
  const link = headers.get("link");
  const links = link === null ? [] : (parseLink(link) ?? []).flatMap(
    ([target, params]): LinkElement[] => {
      const path = upstreamPath(target, base);
      return path === undefined ? [] : [[path, params]];
    },
  );
  if (totalCount === undefined && links.length === 0) return undefined;
  return {
    ...(totalCount === undefined ? {} : { totalCount }),
    ...(links.length === 0 ? {} : { links }),
  };
}

/**
 * What a cache needs of an answer from the upstream at `base` besides
 * status and body: its type, its validators, its `Cache-Control` and its
 * paging headers.
 */
export function metaOf(
  response: Response,
  base: string,
): Pick<
  UpstreamResponse,
  "contentType" | "validators" | "cacheControl" | "pagination"
> {
  const { headers } = response;
  const cacheControl = headers.get("cache-control");
  const pagination = paginationOf(headers, base);
  return {
    contentType: headers.get("content-type") ?? "",
    validators: originValidatorsOf(headers),
    ...(cacheControl === null ? {} : { cacheControl }),
    ...(pagination === undefined ? {} : { pagination }),
  };
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
    | { kind: "retry" | "fatal"; error: UpstreamError; retryAfterMs?: number }
  );

/**
 * Whether an attempt counts against the upstream for the breaker: an
 * error without a status is a write whose connection failed.
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

/**
 * Reads and checks a 2xx body from the upstream at `base`: JSON within
 * `maxBytes`, in time.
 */
export async function readJson(
  response: Response,
  options: {
    base: string;
    maxBytes: number;
    timeoutMs: number;
    signals: Signals;
  },
): Promise<Outcome> {
  const { maxBytes, timeoutMs, signals } = options;
  const { status } = response;
  const meta = metaOf(response, options.base);
  try {
    const body = await readCapped(response, maxBytes);
    assertJson(body, meta.contentType);
    return {
      kind: "done",
      response: { status, body, ...meta },
      report: { outcome: "ok", status },
    };
  } catch (error) {
    if (signals.caller?.aborted) throw signals.caller.reason;
    if (signals.deadline.aborted) {
      return timedOut("body did not arrive", error, timeoutMs, status);
    }
    if (error instanceof UpstreamError) {
      return { kind: "fatal", error, report: { outcome: "error", status } };
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
