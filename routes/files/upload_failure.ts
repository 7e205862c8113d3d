/**
 * The answers to the expected ways an upload fails: which problem status
 * and details each error of the pipeline, the form parser or a shutdown
 * gets, and which outcome the metrics count. Unexpected errors get none
 * (the central handler answers 500).
 *
 * @module
 */

import { FormDataError } from "../../services/uploads/form_data.ts";
import type { ProblemDetails } from "../../services/http/problem.ts";
import {
  DigestMismatchError,
  NoSpaceError,
  UploadIdleTimeoutError,
  UploadIncompleteError,
  UploadTooLargeError,
  UploadTooSlowError,
} from "../../services/uploads/errors.ts";
import { UploadsStoppedError } from "../../services/uploads/tracker.ts";
import type { UploadOutcome } from "./routes.ts";

/** The limits the answers name. */
export interface UploadLimits {
  maxUploadBytes: number;
  idleTimeoutMs: number;
  rateGraceMs: number;
}

/** How to answer one failed upload. */
export interface UploadFailure {
  outcome: UploadOutcome;
  status: number;
  details: Omit<ProblemDetails, "status">;
  /** Headers besides `Connection: close`. */
  headers?: Record<string, string>;
  /** Logged as `upload.<outcome>` at this level (the operator's business). */
  log?: "warn" | "error";
}

/** The answer to `error`, or `undefined` when it is not an expected one. */
export function describeUploadFailure(
  error: unknown,
  limits: UploadLimits,
): UploadFailure | undefined {
  const { maxUploadBytes, idleTimeoutMs, rateGraceMs } = limits;
  if (error instanceof UploadTooLargeError) {
    return {
      outcome: "too_large",
      status: 413,
      details: {
        detail: `The upload exceeds the limit of ${maxUploadBytes} bytes`,
        maxBytes: maxUploadBytes,
      },
    };
  }
  if (error instanceof UploadIdleTimeoutError) {
    return {
      outcome: "timeout",
      status: 408,
      details: { detail: `No data arrived for ${idleTimeoutMs} ms` },
    };
  }
  if (error instanceof UploadTooSlowError) {
    return {
      outcome: "too_slow",
      status: 408,
      details: {
        detail: `${error.message} after ${rateGraceMs} ms; nothing was kept`,
        minBytesPerSecond: error.minBytesPerSecond,
      },
    };
  }
  if (error instanceof FormDataError) {
    return {
      outcome: "invalid_form",
      status: 400,
      details: {
        title: "Invalid form",
        detail: `${error.message}; nothing was kept`,
      },
    };
  }
  if (error instanceof UploadsStoppedError) {
    return {
      outcome: "stopped",
      status: 503,
      details: {
        detail: `${error.message}; the upload was stopped and nothing was kept`,
      },
      headers: { "retry-after": "5" },
      log: "warn",
    };
  }
  if (error instanceof DigestMismatchError) {
    return {
      outcome: "digest_mismatch",
      status: 400,
      details: { title: "Digest mismatch", detail: error.message },
    };
  }
  if (error instanceof UploadIncompleteError) {
    return {
      outcome: "incomplete",
      status: 400,
      details: { title: "Incomplete upload", detail: error.message },
    };
  }
  if (error instanceof NoSpaceError) {
    return {
      outcome: "no_space",
      status: 507,
      details: { detail: "The disk is full; nothing was kept" },
      log: "error",
    };
  }
  return undefined;
}
