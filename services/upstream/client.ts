/**
 * The upstream client for the JSONPlaceholder API: one shared HTTP client
 * with keep-alive, one time budget per call (the wait for a slot included),
 * retries with exponential backoff and full jitter (honouring
 * `Retry-After`), a cap on concurrent requests with a bounded wait queue, a
 * circuit breaker, and a cap on response size. It answers with raw,
 * validated JSON bytes so the cache can store and serve them without
 * re-serialising.
 *
 * @module
 */

import { type BreakerState, CircuitBreaker } from "./circuit_breaker.ts";
import { QueueFullError, Semaphore } from "./semaphore.ts";
import { ClientShare, overShare } from "./client_share.ts";
import {
  bodilessAnswer,
  type Outcome,
  parseRetryAfter,
  readJson,
  readNotFound,
  retryable,
  RETRYABLE_STATUS,
  type Signals,
  timedOut,
} from "./answer.ts";
import { UpstreamError } from "./error.ts";
import type { JsonShape } from "./json_answer.ts";
import { breakerVerdict, noDescriptor } from "./no_descriptor.ts";
import { outOfDescriptors } from "../ops/descriptors.ts";
import { describe } from "../ops/error_chain.ts";
import { currentRequestId } from "../http/request_scope.ts";
import { ShedLog } from "./shed_log.ts";
import { conditionalHeaders } from "../http/origin_validators.ts";
import type { UpstreamResponse } from "./response.ts";
import type { ShedAnswer, ShedReason, UpstreamAttempt } from "./events.ts";
import { jitteredBackoff, pauseBetweenAttempts } from "./backoff.ts";
import {
  CallsStopped,
  stoppedBy,
  stoppedCall,
  stoppedOutcome,
} from "./stopped.ts";
import {
  type ClientSettings,
  clientSettingsOf,
  type GetOptions,
  type JsonPlaceholderClientOptions,
  type UpstreamSettings,
} from "./client_options.ts";

export { parseRetryAfter, UpstreamError };
export type {
  GetOptions,
  JsonPlaceholderClientOptions,
  JsonShape,
  ShedAnswer,
  ShedReason,
  UpstreamAttempt,
  UpstreamResponse,
  UpstreamSettings,
};

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
  /** The options with their defaults, checked (`client_options.ts`). */
  readonly #s: ClientSettings;
  readonly #slots: Semaphore;
  readonly #breaker: CircuitBreaker;
  readonly #http: Deno.HttpClient;
  /**
   * For writes, a connection each: Deno's fetch silently sends a request
   * again when a reused connection closes before the answer, even a POST
   * the upstream may have acted on (measured with Deno 2.9).
   */
  readonly #fresh: Deno.HttpClient;
  /** One throttled line for the calls shed (see shed_log.ts). */
  readonly #shedLog: ShedLog;
  /** Each client address's cap on slots and queue (client_share.ts). */
  readonly #share: ClientShare;
  /** Aborts every call's deadline when the service stops (stopped.ts). */
  readonly #stopping = new AbortController();

  constructor(options: JsonPlaceholderClientOptions) {
    const settings = this.#s = clientSettingsOf(options);
    const { logger, concurrency } = settings;
    this.#slots = new Semaphore({
      permits: concurrency,
      queueLimit: settings.queueLimit,
    });
    this.#breaker = new CircuitBreaker({
      threshold: settings.breakerThreshold,
      cooldownMs: settings.breakerCooldownMs,
      onChange: (state) =>
        logger.warn(`upstream.breaker_${state}`, { base: settings.base }),
    });
    // One pooled client for every request: connections are kept alive and
    // reused, and closing it on shutdown releases them all.
    this.#http = Deno.createHttpClient({ poolMaxIdlePerHost: concurrency });
    this.#fresh = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    this.#shedLog = new ShedLog({ logger });
    this.#share = new ClientShare({
      slots: concurrency,
      queueLimit: settings.queueLimit,
      percent: settings.clientSharePercent,
    });
  }

  /** Concurrency slots not in use right now. */
  get openSlots(): number {
    return this.#slots.free;
  }

  /** The configured concurrency cap. */
  get concurrency(): number {
    return this.#slots.permits;
  }

  /** Requests waiting for a slot right now. */
  get queued(): number {
    return this.#slots.waiting;
  }

  /** The circuit breaker's state. */
  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  /** The base URL (no trailing slash), budget, retries and body cap. */
  get settings(): UpstreamSettings {
    const { base, maxBytes, timeoutMs, retries, backoffMs, maxBackoffMs } =
      this.#s;
    return {
      baseUrl: base,
      maxBytes,
      timeoutMs,
      retries,
      backoffMs,
      maxBackoffMs,
    };
  }

  /**
   * GETs `pathAndQuery` (e.g. `/posts?userId=1`) from the upstream, within
   * one budget of `timeoutMs` for the wait for a slot, every attempt and
   * the backoff between them. With `validators` (of a stored answer) the
   * request is conditional and a 304 is an answer too.
   *
   * @throws {UpstreamError} on a timeout (504); when shed: `client` holds
   * its share already, the wait queue is full, no slot came free in time or
   * the breaker is open (503); or on a bad, oversized or non-JSON answer,
   * or network errors that outlast the retries (502).
   */
  async get(
    pathAndQuery: string,
    options: GetOptions = {},
  ): Promise<UpstreamResponse> {
    const { signal, validators = {}, shape, client, ifShed = "refused" } =
      options;
    if (!pathAndQuery.startsWith("/")) {
      throw new TypeError(`path must start with "/", got "${pathAndQuery}"`);
    }
    const url = this.#s.base + pathAndQuery;
    const started = performance.now();
    const signals = { caller: signal, deadline: this.callDeadline() };
    const headers = {
      accept: "application/json",
      ...conditionalHeaders(validators),
    };
    for (let attempt = 0;; attempt++) {
      signal?.throwIfAborted();
      const outcome = await this.admitted(
        () => this.#exchange(url, headers, signals, shape),
        signals,
        { client, ifShed },
      );
      if (outcome.kind === "done") {
        return {
          ...outcome.response,
          attempts: attempt + 1,
          durationMs: performance.now() - started,
        };
      }
      const { error, retryAfterMs } = outcome;
      if (outcome.kind === "fatal" || attempt >= this.#s.retries) throw error;
      if (
        retryAfterMs !== undefined && retryAfterMs > this.#s.maxRetryAfterMs
      ) {
        throw error;
      }
      const wait = Math.max(
        jitteredBackoff(attempt, this.settings),
        retryAfterMs ?? 0,
      );
      // No time left for another attempt: fail now rather than at the
      // deadline.
      if (wait >= this.#s.timeoutMs - (performance.now() - started)) {
        throw error;
      }
      // The request it runs for (the single flight's first caller), and
      // the network error behind "upstream connection failed".
      const requestId = currentRequestId();
      this.#s.logger.warn("upstream.retry", {
        ...(requestId === undefined ? {} : { requestId }),
        url,
        attempt: attempt + 1,
        waitMs: Math.round(wait),
        reason: describe(error),
      });
      await pauseBetweenAttempts(wait, signals, error);
    }
  }

  /**
   * One attempt: a place in `client`'s share, a slot, the breaker's leave,
   * `exchange` (given the pooled HTTP client, and one that never reuses a
   * connection), the records. GETs and the writes of `write.ts` share the
   * slots, the per-client shares and the breaker. `ifShed` says what
   * answers the request when it is shed (for the metric).
   * @throws {UpstreamError} 503 when shed.
   */
  async admitted(
    exchange: (http: Deno.HttpClient, fresh: Deno.HttpClient) => Promise<
      Outcome
    >,
    signals: Signals,
    options: Pick<GetOptions, "client" | "ifShed"> = {},
  ): Promise<Outcome> {
    const { client, ifShed = "refused" } = options;
    if (!this.#share.take(client)) {
      this.#shed("client_share", ifShed);
      throw overShare(this.#share.cap);
    }
    try {
      await this.#admit(signals, ifShed);
    } catch (error) {
      this.#share.give(client);
      throw error;
    }
    const started = performance.now();
    let outcome: Outcome | undefined;
    try {
      outcome = await exchange(this.#http, this.#fresh);
      return outcome;
    } finally {
      this.#share.give(client);
      this.#slots.release();
      const durationMs = performance.now() - started;
      this.#breaker.record(outcome ? breakerVerdict(outcome) : "abandoned");
      if (outcome) this.#s.onAttempt?.({ ...outcome.report, durationMs });
    }
  }

  /**
   * Takes an upstream slot, then the breaker's leave.
   * @throws {UpstreamError} 503 when the wait queue is full, no slot came
   * free before the deadline, or the breaker is open.
   */
  async #admit(
    { caller, deadline }: Signals,
    ifShed: ShedAnswer,
  ): Promise<void> {
    try {
      await this.#slots.acquire({
        signal: caller ? AbortSignal.any([caller, deadline]) : deadline,
      });
    } catch (error) {
      if (caller?.aborted) throw caller.reason;
      if (stoppedBy(deadline)) throw stoppedCall(error);
      const full = error instanceof QueueFullError;
      this.#shed(full ? "queue_full" : "queue_timeout", ifShed);
      throw new UpstreamError(
        503,
        full
          ? "too many upstream requests are waiting already"
          : `no upstream slot came free within ${this.#s.timeoutMs} ms`,
        { retryAfterSeconds: 1, cause: error },
      );
    }
    if (this.#breaker.allow()) return;
    this.#slots.release();
    this.#shed("breaker_open", ifShed);
    throw new UpstreamError(
      503,
      "the upstream keeps failing: calls to it are paused",
      {
        retryAfterSeconds: Math.max(
          1,
          Math.ceil(this.#breaker.retryAfterMs / 1000),
        ),
      },
    );
  }

  /**
   * Counts a call shed for `reason`, its request answered by `answer`
   * (metrics, the throttled line).
   */
  #shed(reason: ShedReason, answer: ShedAnswer): void {
    this.#s.onShed?.(reason, answer);
    this.#shedLog.record(reason);
  }

  /** Fetches `url` and classifies the answer. */
  async #exchange(
    url: string,
    headers: Record<string, string>,
    signals: Signals,
    shape: JsonShape | undefined,
  ): Promise<Outcome> {
    const { caller, deadline } = signals;
    const sent = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        client: this.#http,
        signal: caller ? AbortSignal.any([caller, deadline]) : deadline,
        headers,
        // A redirect is the upstream's answer, as for any reverse proxy:
        // followed, it would make this service fetch, cache and serve any
        // address it names (an internal host, a plain-http one).
        redirect: "manual",
      });
    } catch (cause) {
      if (caller?.aborted) throw caller.reason;
      if (stoppedBy(deadline)) return stoppedOutcome(stoppedCall(cause));
      if (deadline.aborted) {
        return timedOut("did not answer", cause, this.#s.timeoutMs);
      }
      if (outOfDescriptors(cause)) return noDescriptor(cause);
      return {
        kind: "retry",
        error: new UpstreamError(502, "upstream connection failed", { cause }),
        report: { outcome: "retry" },
      };
    }
    const { status } = response;
    // RFC 9111 4.2.3's response_delay, which an upstream's Age is corrected by.
    const responseDelayMs = performance.now() - sent;
    const { base, maxBytes, timeoutMs } = this.#s;
    const read = { base, maxBytes, timeoutMs, signals, responseDelayMs, shape };
    if (status >= 200 && status <= 299) return await readJson(response, read);
    // A 404 is stored as the answer: only a whole one (answer.ts).
    if (status === 404) return await readNotFound(response, read);
    await response.body?.cancel();
    if (RETRYABLE_STATUS.has(status)) return retryable(response);
    // A 304 answers only a conditional request; unasked, it is an error.
    const conditional = "if-none-match" in headers ||
      "if-modified-since" in headers;
    return bodilessAnswer(response, {
      base: this.#s.base,
      conditional,
      responseDelayMs,
    });
  }

  /**
   * The deadline of one call (a GET, or a write of `write.ts`): it aborts
   * `timeoutMs` from now, or when {@linkcode JsonPlaceholderClient.stop}
   * is called.
   */
  callDeadline(): AbortSignal {
    return AbortSignal.any([
      AbortSignal.timeout(this.#s.timeoutMs),
      this.#stopping.signal,
    ]);
  }

  /**
   * Ends every call now, those waiting for a slot or a backoff too: a
   * shutdown whose grace period ran out (stopped.ts says with what). Calls
   * made afterwards fail at once, the same way.
   */
  stop(): void {
    this.#stopping.abort(new CallsStopped());
  }

  /** Closes the pooled connections. */
  close(): void {
    this.#http.close();
    this.#fresh.close();
  }

  /** Same as {@linkcode JsonPlaceholderClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
