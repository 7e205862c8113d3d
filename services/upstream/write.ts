/**
 * Writes passed through to the upstream (`POST`, `PUT`, `PATCH`,
 * `DELETE`), sharing the client's slots, breaker and budget. A write is
 * sent again only when it is idempotent (`PUT`, `DELETE`) and the failure
 * came before any byte of it left (no connection could be opened): a
 * write the upstream may have received is never repeated, whatever came
 * back (so each write has a connection of its own: Deno's fetch sends a
 * request again by itself when a reused connection closes before the
 * answer). The upstream's answer (status, body, `Content-Type`, `Location`,
 * `Content-Location`) is returned as it came, its body within the cap,
 * but for a 5xx (a 502 {@linkcode UpstreamError}: the upstream failed,
 * its page is not the client's to see) and an answer not of the kind the
 * OpenAPI document promises (`write_refusal.ts`), which the route does
 * not pass on (`WriteAnswer.refused`).
 *
 * @module
 */

import type { z } from "zod";
import {
  type Outcome,
  parseRetryAfter,
  readCapped,
  reportOfBodyError,
  type Signals,
  timedOut,
} from "./answer.ts";
import { jitteredBackoff, pauseBetweenAttempts } from "./backoff.ts";
import type { JsonPlaceholderClient } from "./client.ts";
import { UpstreamError } from "./error.ts";
import { outOfDescriptors } from "../ops/descriptors.ts";
import { noDescriptor } from "./no_descriptor.ts";
import { stoppedBy, stoppedOutcome, stoppedWrite } from "./stopped.ts";
import { type AnswerVerdict, verdictOf } from "./write_refusal.ts";

/** The methods passed through. */
export const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** A write method. */
export type WriteMethod = typeof WRITE_METHODS[number];

const IDEMPOTENT: ReadonlySet<WriteMethod> = new Set(["PUT", "DELETE"]);

/** A write to send. */
export interface UpstreamWrite {
  method: WriteMethod;
  /** Path and query, e.g. `/posts/1`. */
  pathAndQuery: string;
  /** The request body, sent as is. */
  body?: Uint8Array<ArrayBuffer>;
  /** The body's `Content-Type`, sent as is. */
  contentType?: string;
  /** Stops the write (a client that went away). */
  signal?: AbortSignal;
  /** The client address the write is for, counted against its share. */
  client?: string | undefined;
  /**
   * What a 2xx answer's body must hold (the OpenAPI document's schema of
   * the written item); without it, any JSON object.
   */
  written?: z.ZodType | undefined;
}

/** The upstream's answer to a write. */
export interface WriteAnswer {
  status: number;
  body: Uint8Array;
  /** The answer's headers that matter to the client and the cache. */
  headers: {
    contentType?: string;
    location?: string;
    contentLocation?: string;
  };
  /** Attempts made. */
  attempts: number;
  /**
   * Why the answer is not passed on, when it is not (`write_refusal.ts`):
   * a body other than a JSON object (an HTML page, garbage, nothing, an
   * array), where every write's answer in the OpenAPI document is one, a
   * 2xx not of `UpstreamWrite.written`, a 204, 205 or 304, a redirect out
   * of the upstream. Its status is 502.
   */
  refused?: UpstreamError;
  /**
   * The body as parsed when it was checked, when it is a JSON object
   * (`write_refusal.ts`).
   */
  json?: Readonly<Record<string, unknown>>;
}

/**
 * The outcome of a 5xx: 502, never sent again (the upstream received the
 * write), `Retry-After` kept; the upstream's page (json-server's holds its
 * stack) is not passed on.
 */
function failedAnswer(response: Response): Outcome {
  const { status } = response;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  return {
    kind: "fatal",
    error: new UpstreamError(502, `upstream answered ${status}`, {
      upstreamStatus: status,
      ...(retryAfterMs === undefined
        ? {}
        : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
    }),
    report: { outcome: "error", status },
  };
}

/**
 * Whether a failed fetch failed before sending anything: Deno names the
 * stage that failed, `(Connect)` when no connection could be opened
 * (refused, unreachable, DNS or TLS failure).
 */
export function failedBeforeSending(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return /\(Connect\)/.test(cause instanceof Error ? cause.message : "");
}

function headersOf(response: Response): WriteAnswer["headers"] {
  const pick = (name: string) => response.headers.get(name) ?? undefined;
  const picked = {
    contentType: pick("content-type"),
    location: pick("location"),
    contentLocation: pick("content-location"),
  };
  return Object.fromEntries(
    Object.entries(picked).filter(([, value]) => value !== undefined),
  );
}

/** The outcome of a fetch that failed: retried only if nothing was sent. */
function networkFailure(
  method: WriteMethod,
  cause: unknown,
  deadline: AbortSignal,
  timeoutMs: number,
): Outcome {
  if (stoppedBy(deadline)) return stoppedOutcome(stoppedWrite(method, cause));
  if (deadline.aborted) return timedOut("did not answer", cause, timeoutMs);
  // Never sent: the socket was not opened.
  if (outOfDescriptors(cause)) return noDescriptor(cause);
  const before = failedBeforeSending(cause);
  const retry = before && IDEMPOTENT.has(method);
  return {
    kind: retry ? "retry" : "fatal",
    error: new UpstreamError(
      502,
      before
        ? "upstream connection failed"
        : `upstream connection broke during the ${method}; it was not repeated`,
      { cause },
    ),
    report: { outcome: retry ? "retry" : "error" },
  };
}

/** What one attempt needs besides the write. */
interface AttemptContext {
  url: string;
  method: WriteMethod;
  baseUrl: string;
  signals: Signals;
  maxBytes: number;
  timeoutMs: number;
}

/** A read failure of the answer's body: never retried. */
function bodyFailure(
  error: unknown,
  status: number,
  { signals, timeoutMs, method }: AttemptContext,
): Outcome {
  if (signals.caller?.aborted) throw signals.caller.reason;
  if (stoppedBy(signals.deadline)) {
    return stoppedOutcome(stoppedWrite(method, error), status);
  }
  if (signals.deadline.aborted) {
    return timedOut("body did not arrive", error, timeoutMs, status);
  }
  if (error instanceof UpstreamError) {
    return { kind: "fatal", error, report: reportOfBodyError(error, status) };
  }
  return {
    kind: "fatal",
    error: new UpstreamError(502, "upstream connection broke", {
      cause: error,
    }),
    report: { outcome: "error", status },
  };
}

/** One attempt's exchange: the fetch, and the answer read within the cap. */
async function exchange(
  http: Deno.HttpClient,
  write: UpstreamWrite,
  context: AttemptContext,
): Promise<
  AnswerVerdict & { outcome: Outcome; headers?: WriteAnswer["headers"] }
> {
  const { caller, deadline } = context.signals;
  let response: Response;
  try {
    response = await fetch(context.url, {
      client: http,
      method: write.method,
      signal: caller ? AbortSignal.any([caller, deadline]) : deadline,
      headers: {
        accept: "application/json",
        ...(write.contentType ? { "content-type": write.contentType } : {}),
      },
      ...(write.body ? { body: write.body } : {}),
      // A redirect is the upstream's answer, passed on: followed, a write
      // would go wherever it named (an internal host, plain http).
      redirect: "manual",
    });
  } catch (cause) {
    if (caller?.aborted) throw caller.reason;
    return {
      outcome: networkFailure(write.method, cause, deadline, context.timeoutMs),
    };
  }
  const { status } = response;
  let body: Uint8Array;
  try {
    body = await readCapped(response, context.maxBytes);
  } catch (error) {
    return { outcome: bodyFailure(error, status, context) };
  }
  if (status >= 500) return { outcome: failedAnswer(response) };
  const headers = headersOf(response);
  const verdict = verdictOf(status, body, headers, {
    baseUrl: context.baseUrl,
    written: write.written,
  });
  return {
    ...verdict,
    outcome: answered(status, body, headers, verdict.refused),
    headers,
  };
}

/** The outcome of an answer read whole: done, reported by its status. */
function answered(
  status: number,
  body: Uint8Array,
  headers: WriteAnswer["headers"],
  refused: UpstreamError | undefined,
): Outcome {
  const outcome = refused || status >= 400
    ? status === 404 && !refused ? "not_found" : "error"
    : "ok";
  return {
    kind: "done",
    // A write's answer is never stored: no validators kept.
    response: {
      status,
      body,
      contentType: headers.contentType ?? "",
      validators: {},
    },
    report: { outcome, status },
  };
}

/**
 * Sends `write` to the upstream within one budget of the client's
 * `timeoutMs`; retried (with the client's backoff) only when idempotent
 * and nothing was sent.
 *
 * @throws {UpstreamError} when shed (503), on a timeout (504), or when the
 * upstream could not be reached, its answer not read, or was a 5xx (502).
 */
export async function sendWrite(
  client: JsonPlaceholderClient,
  write: UpstreamWrite,
): Promise<WriteAnswer> {
  const settings = client.settings;
  if (!write.pathAndQuery.startsWith("/")) {
    throw new TypeError(`path must start with "/": ${write.pathAndQuery}`);
  }
  const context: AttemptContext = {
    url: settings.baseUrl + write.pathAndQuery,
    method: write.method,
    baseUrl: settings.baseUrl,
    signals: { caller: write.signal, deadline: client.callDeadline() },
    maxBytes: settings.maxBytes,
    timeoutMs: settings.timeoutMs,
  };
  const started = performance.now();
  for (let attempt = 0;; attempt++) {
    write.signal?.throwIfAborted();
    let headers: WriteAnswer["headers"] = {};
    let verdict: AnswerVerdict = {};
    // A connection of its own: a reused one that closed would make fetch
    // send the write again by itself.
    const outcome = await client.admitted(
      async (_pooled, fresh) => {
        const result = await exchange(fresh, write, context);
        const { outcome, headers: got = {}, ...checked } = result;
        headers = got;
        verdict = checked;
        return outcome;
      },
      context.signals,
      { client: write.client },
    );
    if (outcome.kind === "done") {
      const { status, body } = outcome.response;
      return {
        status,
        body,
        headers,
        attempts: attempt + 1,
        ...verdict,
      };
    }
    const { error } = outcome;
    if (outcome.kind === "fatal" || attempt >= settings.retries) throw error;
    const wait = jitteredBackoff(attempt, settings);
    if (wait >= settings.timeoutMs - (performance.now() - started)) throw error;
    await pauseBetweenAttempts(wait, context.signals, error);
  }
}
