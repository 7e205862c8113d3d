/**
 * The upstream client for the JSONPlaceholder API: one shared HTTP client
 * with keep-alive, a timeout per attempt, retries with exponential backoff
 * and full jitter (honouring `Retry-After`), a cap on concurrent requests
 * and a cap on response size. It answers with raw, validated JSON bytes so
 * the cache can store and serve them without re-serialising.
 *
 * @module
 */

import { type Logger, silentLogger } from "./logger.ts";
import { BodyTooLargeError, readBody } from "./read_body.ts";

/** A successful exchange with the upstream: a JSON body, or a 404. */
export interface UpstreamResponse {
  /** 200 (or another 2xx) with a JSON body, or 404. */
  status: number;
  /** The upstream body, byte for byte; validated as JSON when 2xx. */
  body: Uint8Array;
  /** The upstream `Content-Type`. */
  contentType: string;
  /** Attempts made, 1 when the first one succeeded. */
  attempts: number;
  /** Wall time of all attempts and backoff, in milliseconds. */
  durationMs: number;
}

/**
 * The upstream failed in a way the client cannot fix: the HTTP layer maps
 * it to a problem response with {@linkcode UpstreamError.status}.
 */
export class UpstreamError extends Error {
  /** 502 for a bad upstream answer, 504 for a timeout. */
  readonly status: 502 | 504;
  /** The upstream's HTTP status when it answered. */
  readonly upstreamStatus: number | undefined;
  /** Seconds the upstream asked us to wait, when it said so. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    status: 502 | 504,
    message: string,
    options: {
      upstreamStatus?: number;
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "UpstreamError";
    this.status = status;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Options of {@linkcode JsonPlaceholderClient}. */
export interface JsonPlaceholderClientOptions {
  /** Base URL of the JSONPlaceholder service. */
  baseUrl: URL | string;
  /** Timeout of each attempt, in milliseconds. @default {5000} */
  timeoutMs?: number;
  /** Retries after a network error, 429, 502, 503 or 504. @default {2} */
  retries?: number;
  /** Most requests in flight at once; more wait their turn. @default {32} */
  concurrency?: number;
  /** Largest accepted body, in bytes. @default {16777216} */
  maxBytes?: number;
  /** First backoff step; doubles per retry, full jitter. @default {100} */
  backoffMs?: number;
  /** Cap of one backoff step. @default {2000} */
  maxBackoffMs?: number;
  /**
   * Longest `Retry-After` we are willing to wait; a longer one ends the
   * retries at once so clients are not held hostage. @default {5000}
   */
  maxRetryAfterMs?: number;
  /** Where retries and failures are logged. */
  logger?: Logger;
  /** Observes each attempt (metrics). */
  onAttempt?: (event: UpstreamAttempt) => void;
}

/** What {@linkcode JsonPlaceholderClientOptions.onAttempt} sees. */
export interface UpstreamAttempt {
  /** `ok`, `not_found`, `retry`, `error` or `timeout`. */
  outcome: "ok" | "not_found" | "retry" | "error" | "timeout";
  /** Upstream status, when it answered. */
  status?: number;
  /** Duration of the attempt in milliseconds. */
  durationMs: number;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** A counting semaphore that caps concurrent upstream requests. */
class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  get free(): number {
    return this.#free;
  }
  get waiting(): number {
    return this.#waiters.length;
  }
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const wake = () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      const i = this.#waiters.indexOf(wake);
      if (i >= 0) this.#waiters.splice(i, 1);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiters.push(wake);
    return await promise;
  }
  release(): void {
    const next = this.#waiters.shift();
    // Hand the slot straight to the next waiter rather than freeing it, so
    // a newcomer cannot overtake the queue.
    if (next) next();
    else this.#free++;
  }
}

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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const onAbort = () => {
    clearTimeout(timer);
    reject(signal!.reason);
  };
  const timer = setTimeout(() => {
    signal?.removeEventListener("abort", onAbort);
    resolve();
  }, ms);
  signal?.addEventListener("abort", onAbort, { once: true });
  return promise;
}

/** The declared `Content-Length`, when it is a plain number. */
function declaredLength(response: Response): number | undefined {
  const value = response.headers.get("content-length")?.trim();
  if (!value || !/^\d+$/.test(value)) return undefined;
  // Absurd lengths stay absurd (over any cap) rather than lose precision.
  return Math.min(Number(value), Number.MAX_SAFE_INTEGER);
}

/** Reads a body up to `maxBytes` into an exact-size buffer (502 past it). */
async function readCapped(
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
 * A client for the JSONPlaceholder API.
 *
 * @example Usage
 * ```ts ignore
 * using client = new JsonPlaceholderClient({ baseUrl: "http://127.0.0.1:3000" });
 * const { status, body } = await client.get("/posts/1");
 * ```
 */
export class JsonPlaceholderClient implements Disposable {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxBytes: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #logger: Logger;
  readonly #onAttempt: ((event: UpstreamAttempt) => void) | undefined;
  readonly #slots: Semaphore;
  readonly #concurrency: number;
  readonly #http: Deno.HttpClient;

  constructor(options: JsonPlaceholderClientOptions) {
    const {
      baseUrl,
      timeoutMs = 5000,
      retries = 2,
      concurrency = 32,
      maxBytes = 16 * 1024 * 1024,
      backoffMs = 100,
      maxBackoffMs = 2000,
      maxRetryAfterMs = 5000,
      logger = silentLogger,
      onAttempt,
    } = options;
    for (
      const [name, value, min] of [
        ["timeoutMs", timeoutMs, 1],
        ["retries", retries, 0],
        ["concurrency", concurrency, 1],
        ["maxBytes", maxBytes, 1],
        ["backoffMs", backoffMs, 0],
        ["maxBackoffMs", maxBackoffMs, 0],
        ["maxRetryAfterMs", maxRetryAfterMs, 0],
      ] as const
    ) {
      if (!Number.isInteger(value) || value < min) {
        throw new RangeError(
          `${name} must be an integer >= ${min}, got ${value}`,
        );
      }
    }
    const base = new URL(baseUrl);
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new TypeError(`baseUrl must be http(s), got ${base.protocol}`);
    }
    this.#base = base.href.replace(/\/+$/, "");
    this.#timeoutMs = timeoutMs;
    this.#retries = retries;
    this.#maxBytes = maxBytes;
    this.#backoffMs = backoffMs;
    this.#maxBackoffMs = maxBackoffMs;
    this.#maxRetryAfterMs = maxRetryAfterMs;
    this.#logger = logger;
    this.#onAttempt = onAttempt;
    this.#concurrency = concurrency;
    this.#slots = new Semaphore(concurrency);
    // One pooled client for every request: connections are kept alive and
    // reused, and closing it on shutdown releases them all.
    this.#http = Deno.createHttpClient({ poolMaxIdlePerHost: concurrency });
  }

  /** Concurrency slots not in use right now. */
  get openSlots(): number {
    return this.#slots.free;
  }

  /** The configured concurrency cap. */
  get concurrency(): number {
    return this.#concurrency;
  }

  /**
   * GETs `pathAndQuery` (e.g. `/posts?userId=1`) from the upstream.
   *
   * @throws {UpstreamError} on a timeout (504), or a bad, oversized or
   * non-JSON answer, or network errors that outlast the retries (502).
   */
  async get(
    pathAndQuery: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<UpstreamResponse> {
    const { signal } = options;
    if (!pathAndQuery.startsWith("/")) {
      throw new TypeError(`path must start with "/", got "${pathAndQuery}"`);
    }
    const url = this.#base + pathAndQuery;
    const started = performance.now();
    for (let attempt = 0;; attempt++) {
      signal?.throwIfAborted();
      const outcome = await this.#attempt(url, signal);
      const last = attempt >= this.#retries;
      if (outcome.kind === "done") {
        return {
          ...outcome.response,
          attempts: attempt + 1,
          durationMs: performance.now() - started,
        };
      }
      const { error, retryAfterMs } = outcome;
      if (outcome.kind === "fatal" || last) throw error;
      if (retryAfterMs !== undefined && retryAfterMs > this.#maxRetryAfterMs) {
        throw error;
      }
      const backoff = Math.random() *
        Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** attempt);
      const wait = Math.max(backoff, retryAfterMs ?? 0);
      this.#logger.warn("upstream.retry", {
        url,
        attempt: attempt + 1,
        waitMs: Math.round(wait),
        reason: error.message,
      });
      await sleep(wait, signal);
    }
  }

  async #attempt(url: string, signal: AbortSignal | undefined): Promise<
    | {
      kind: "done";
      response: Omit<UpstreamResponse, "attempts" | "durationMs">;
    }
    | { kind: "retry" | "fatal"; error: UpstreamError; retryAfterMs?: number }
  > {
    await this.#slots.acquire(signal);
    const started = performance.now();
    const report = (outcome: UpstreamAttempt["outcome"], status?: number) =>
      this.#onAttempt?.({
        outcome,
        ...(status === undefined ? {} : { status }),
        durationMs: performance.now() - started,
      });
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const attemptSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      let response: Response;
      try {
        response = await fetch(url, {
          client: this.#http,
          signal: attemptSignal,
          headers: { accept: "application/json" },
        });
      } catch (cause) {
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted) {
          report("timeout");
          return {
            kind: "fatal",
            error: new UpstreamError(
              504,
              `upstream did not answer within ${this.#timeoutMs} ms`,
              { cause },
            ),
          };
        }
        report("retry");
        return {
          kind: "retry",
          error: new UpstreamError(502, "upstream connection failed", {
            cause,
          }),
        };
      }

      const status = response.status;
      const contentType = response.headers.get("content-type") ?? "";
      if (RETRYABLE_STATUS.has(status)) {
        await response.body?.cancel();
        const retryAfterMs = parseRetryAfter(
          response.headers.get("retry-after"),
        );
        report("retry", status);
        return {
          kind: "retry",
          error: new UpstreamError(502, `upstream answered ${status}`, {
            upstreamStatus: status,
            ...(retryAfterMs === undefined
              ? {}
              : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) }),
          }),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      }
      if (status === 404) {
        await response.body?.cancel();
        report("not_found", status);
        return {
          kind: "done",
          response: { status, body: new Uint8Array(), contentType },
        };
      }
      if (status < 200 || status > 299) {
        await response.body?.cancel();
        report("error", status);
        return {
          kind: "fatal",
          error: new UpstreamError(502, `upstream answered ${status}`, {
            upstreamStatus: status,
          }),
        };
      }
      let body: Uint8Array;
      try {
        body = await readCapped(response, this.#maxBytes);
        assertJson(body, contentType);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted) {
          report("timeout", status);
          return {
            kind: "fatal",
            error: new UpstreamError(
              504,
              `upstream body did not arrive within ${this.#timeoutMs} ms`,
              { cause: error },
            ),
          };
        }
        if (error instanceof UpstreamError) {
          report("error", status);
          return { kind: "fatal", error };
        }
        // The connection broke mid-body: as retryable as a refused one.
        report("retry", status);
        return {
          kind: "retry",
          error: new UpstreamError(502, "upstream connection broke", {
            cause: error,
          }),
        };
      }
      report("ok", status);
      return { kind: "done", response: { status, body, contentType } };
    } finally {
      this.#slots.release();
    }
  }

  /** Closes the pooled connections. */
  close(): void {
    this.#http.close();
  }

  /** Same as {@linkcode JsonPlaceholderClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
