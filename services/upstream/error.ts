/**
 * The error of a failed upstream exchange, with the HTTP status the
 * service answers it with.
 *
 * @module
 */

/**
 * The upstream failed in a way the client cannot fix: the HTTP layer maps
 * it to a problem response with {@linkcode UpstreamError.status}.
 */
export class UpstreamError extends Error {
  /**
   * 502 for a bad upstream answer, 503 when the call was shed (the wait
   * queue is full, no slot came free in time, the breaker is open), 504 for
   * a timeout.
   */
  readonly status: 502 | 503 | 504;
  /** The upstream's HTTP status when it answered. */
  readonly upstreamStatus: number | undefined;
  /** Seconds the client should wait before trying again, when known. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    status: 502 | 503 | 504,
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

/**
 * Whether `error` is a call shed before it reached the upstream (503: the
 * wait queue full, no slot in time, the breaker open). The client logs
 * those in one throttled line (`upstream.shed`, shed_log.ts), so the
 * request's error handler and a failed background refresh do not log
 * each again.
 */
export function isShed(error: unknown): boolean {
  return error instanceof UpstreamError && error.status === 503;
}
