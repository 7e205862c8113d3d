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
  HashWorkerEndedError,
  NoSpaceError,
  UploadIdleTimeoutError,
  UploadIncompleteError,
  UploadTooLargeError,
  UploadTooSlowError,
} from "../../services/uploads/errors.ts";
import { UploadsStoppedError } from "../../services/uploads/tracker.ts";
import { BodyCodingError } from "../../services/http/request_coding.ts";
import { LengthRequiredError } from "../../services/http/body_framing.ts";
import { FramesTooSmallError } from "../../services/http/frame_floor.ts";
import { TrailerFloodError } from "../../services/http/trailer_flood.ts";
import { FileIdTakenError } from "../../services/storage/storage.ts";
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

/** One expected error class and how to answer it. */
interface Rule<E extends Error> {
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E;
  answer: (error: E, limits: UploadLimits) => UploadFailure;
}

function rule<E extends Error>(
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  answer: (error: E, limits: UploadLimits) => UploadFailure,
): Rule<Error> {
  return { type, answer: answer as Rule<Error>["answer"] };
}

const RULES: Rule<Error>[] = [
  rule(UploadTooLargeError, (_, { maxUploadBytes }) => ({
    outcome: "too_large",
    status: 413,
    details: {
      detail: `The upload exceeds the limit of ${maxUploadBytes} bytes`,
      maxBytes: maxUploadBytes,
    },
  })),
  rule(UploadIdleTimeoutError, (_, { idleTimeoutMs }) => ({
    outcome: "timeout",
    status: 408,
    details: { detail: `No data arrived for ${idleTimeoutMs} ms` },
  })),
  rule(UploadTooSlowError, (error) => ({
    outcome: "too_slow",
    status: 408,
    details: {
      detail: `${error.message}; nothing was kept`,
      minBytesPerSecond: error.minBytesPerSecond,
    },
  })),
  rule(TrailerFloodError, (error) => ({
    outcome: "trailer_flood",
    status: 431,
    details: {
      detail: `${error.message}; nothing was kept`,
    },
  })),
  rule(FramesTooSmallError, (error) => ({
    outcome: "frames_too_small",
    status: 400,
    details: {
      title: "Chunks too small",
      detail: `${error.message}; nothing was kept`,
      minFrameBytes: error.minFrameBytes,
    },
  })),
  rule(FormDataError, (error) => ({
    outcome: "invalid_form",
    status: 400,
    details: {
      title: "Invalid form",
      detail: `${error.message}; nothing was kept`,
    },
  })),
  rule(UploadsStoppedError, (error) => ({
    outcome: "stopped",
    status: 503,
    details: {
      detail: `${error.message}; the upload was stopped and nothing was kept`,
    },
    headers: { "retry-after": "5" },
    log: "warn",
  })),
  rule(DigestMismatchError, (error) => ({
    outcome: "digest_mismatch",
    status: 400,
    details: { title: "Digest mismatch", detail: error.message },
  })),
  rule(BodyCodingError, (error) => ({
    outcome: "invalid_coding",
    status: 400,
    details: {
      title: "Invalid Content-Encoding",
      detail: `${error.message}; nothing was kept`,
    },
  })),
  rule(UploadIncompleteError, (error) => ({
    outcome: "incomplete",
    status: 400,
    details: { title: "Incomplete upload", detail: error.message },
  })),
  rule(LengthRequiredError, (error) => ({
    outcome: "length_required",
    status: 411,
    details: { detail: `${error.message}; nothing was kept` },
  })),
  rule(FileIdTakenError, idTaken),
  // The server's fault, but passing: the next upload gets a worker again.
  rule(HashWorkerEndedError, () => ({
    outcome: "error",
    status: 503,
    details: {
      detail: "The upload could not be hashed; nothing was kept, retry",
    },
    headers: { "retry-after": "1" },
    log: "error",
  })),
  // Logged by the route, one line a burst (upload_length.ts noSpaceLine).
  rule(NoSpaceError, () => ({
    outcome: "no_space",
    status: 507,
    details: { detail: "The disk is full; nothing was kept" },
  })),
];

/**
 * Seconds after which a client refused because another upload of its id
 * runs is told to look again (`Retry-After`).
 */
export const ID_RUNNING_RETRY_SECONDS = 1;

/**
 * 409 for an `Upload-Id` held by a stored file, or by an upload still
 * running. Said apart, since the client does different things: a stored
 * file is there to read (`GET`, its `Repr-Digest` tells whether it is the
 * client's own, a retry after a lost 201); a running upload may still
 * fail, so nothing is there yet (`GET` 404) and the id may come free:
 * `Retry-After` says when to look again. Both said "exists" (the storage's
 * "was stored first" before the other's file was), and the route's advice,
 * "choose another id", gave up an id the client may rightly hold.
 */
function idTaken(error: FileIdTakenError): UploadFailure {
  const name = `/files/${error.id}`;
  if (error.holder === "stored") {
    return {
      outcome: "conflict",
      status: 409,
      details: {
        title: "Upload-Id taken",
        detail: `${error.message}; nothing of this upload was kept. ` +
          `GET ${name} reads it (its Repr-Digest tells whether it is ` +
          "these bytes); DELETE it first to store others under this id",
      },
    };
  }
  return {
    outcome: "conflict",
    status: 409,
    details: {
      title: "Upload-Id in use",
      detail: `${error.message}; nothing of this upload was kept, and ` +
        `nothing is stored under this id yet (GET ${name} is 404 until ` +
        "it is). That upload may still fail: once it has ended " +
        `(GET /uploads/events?id=${error.id}), GET ${name}; if it is ` +
        "still 404, upload again",
    },
    headers: { "retry-after": String(ID_RUNNING_RETRY_SECONDS) },
  };
}

/** The answer to `error`, or `undefined` when it is not an expected one. */
export function describeUploadFailure(
  error: unknown,
  limits: UploadLimits,
): UploadFailure | undefined {
  const found = RULES.find((r) => error instanceof r.type);
  return found?.answer(error as Error, limits);
}

/**
 * Whether `error` says the client went away or its body broke (cut short,
 * or not valid HTTP framing).
 */
export function isBodyError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.Interrupted ||
    (error instanceof TypeError &&
      /body|stream|connection/i.test(error.message)) ||
    (error instanceof Error && error.name === "Http") ||
    // A chunked body whose framing breaks (a chunk size that is no hex
    // number, a chunk without its CRLF, a malformed trailer): the runtime
    // rejects the read with a plain Error named for the parse failure.
    (error instanceof Error && /^invalid HTTP\b/i.test(error.message));
}
