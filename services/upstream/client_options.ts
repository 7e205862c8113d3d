/**
 * The options of {@linkcode JsonPlaceholderClient} (`client.ts`), their
 * defaults and checks, and the settings the write path reads back.
 *
 * @module
 */

import { type Logger, silentLogger } from "../ops/logger.ts";
import type { Backoff } from "./backoff.ts";
import type { ShedAnswer, ShedReason, UpstreamAttempt } from "./events.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { DEFAULT_CLIENT_SHARE_PERCENT } from "./client_share.ts";
import type { OriginValidators } from "../http/origin_validators.ts";
import type { JsonShape } from "./json_answer.ts";

/** Options of {@linkcode JsonPlaceholderClient}. */
export interface JsonPlaceholderClientOptions {
  /** Base URL of the JSONPlaceholder service. */
  baseUrl: URL | string;
  /**
   * The whole budget of one {@linkcode JsonPlaceholderClient.get}, in
   * milliseconds: the wait for a slot, every attempt and the backoff
   * between them. @default {5000}
   */
  timeoutMs?: number;
  /** Retries after a network error, 429, 502, 503 or 504. @default {2} */
  retries?: number;
  /** Most requests in flight at once; more wait their turn. @default {32} */
  concurrency?: number;
  /** Most requests waiting for a slot; more get 503 at once. @default {64} */
  queueLimit?: number;
  /**
   * Percent of `concurrency + queueLimit` one client address may hold,
   * waiting or in flight; more from it get 503 at once (client_share.ts).
   * @default {50}
   */
  clientSharePercent?: number;
  /**
   * Consecutive failed attempts (network errors, timeouts, 429 and 5xx)
   * that open the circuit breaker; 0 turns it off. @default {5}
   */
  breakerThreshold?: number;
  /** How long an open breaker refuses calls before a probe. @default {5000} */
  breakerCooldownMs?: number;
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
  /**
   * Observes each call shed before reaching the upstream, and what
   * answered its request (metrics).
   */
  onShed?: (reason: ShedReason, answer: ShedAnswer) => void;
}

/** The client's settings, as the write path (`write.ts`) reads them. */
export type UpstreamSettings = Backoff & {
  baseUrl: string;
  timeoutMs: number;
  retries: number;
  maxBytes: number;
};

/** The options with their defaults, and the base URL as a string. */
export type ClientSettings =
  & Required<
    Omit<JsonPlaceholderClientOptions, "baseUrl" | "onAttempt" | "onShed">
  >
  & {
    base: string;
    onAttempt: JsonPlaceholderClientOptions["onAttempt"];
    onShed: JsonPlaceholderClientOptions["onShed"];
  };

/**
 * The options with their defaults, checked, and the base URL without its
 * trailing slashes.
 *
 * @throws {RangeError} on a budget, retry count, body cap or backoff that is
 * not an integer in range.
 * @throws {TypeError} when the base URL is not http(s).
 */
export function clientSettingsOf(
  options: JsonPlaceholderClientOptions,
): ClientSettings {
  const {
    baseUrl,
    timeoutMs = 5000,
    retries = 2,
    concurrency = 32,
    queueLimit = 64,
    clientSharePercent = DEFAULT_CLIENT_SHARE_PERCENT,
    breakerThreshold = 5,
    breakerCooldownMs = 5000,
    maxBytes = 16 * 1024 * 1024,
    backoffMs = 100,
    maxBackoffMs = 2000,
    maxRetryAfterMs = 5000,
    logger = silentLogger,
    onAttempt,
    onShed,
  } = options;
  checkWholeNumbers({ timeoutMs, maxBytes });
  checkWholeNumbers({ retries, backoffMs, maxBackoffMs, maxRetryAfterMs }, {
    min: 0,
  });
  const url = new URL(baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`baseUrl must be http(s), got ${url.protocol}`);
  }
  return {
    base: url.href.replace(/\/+$/, ""),
    timeoutMs,
    retries,
    concurrency,
    queueLimit,
    clientSharePercent,
    breakerThreshold,
    breakerCooldownMs,
    maxBytes,
    backoffMs,
    maxBackoffMs,
    maxRetryAfterMs,
    logger,
    onAttempt,
    onShed,
  };
}

/** Options of {@linkcode JsonPlaceholderClient.get}. */
export interface GetOptions {
  signal?: AbortSignal;
  /** A stored answer's validators: the request is conditional. */
  validators?: OriginValidators;
  /** The shape of JSON the caller serves; another one is 502. */
  shape?: JsonShape;
  /** The client address the call is for, counted against its share. */
  client?: string | undefined;
  /**
   * What answers the request if the call is shed: a stored copy when the
   * caller has one to stand in (a background refresh, a stale-if-error
   * miss), so the metric counts no refusal the client never saw.
   * @default {"refused"}
   */
  ifShed?: ShedAnswer;
}
