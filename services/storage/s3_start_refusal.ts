/**
 * Which failures of an S3 store stop the start, and what each says to fix:
 * a refusal the store gives every request until someone changes a setting
 * (or the host's clock), or a TLS certificate not trusted.
 *
 * @module
 */

import {
  NOT_THE_BUCKET,
  S3Error,
  StorageCertificateError,
} from "./s3_errors.ts";
import { StorageRefusedError } from "./storage.ts";

/** What a refusal of the store at start says to fix. */
export interface StartRefusal {
  /** The setting it concerns. */
  setting: string;
  /** What to check, for the one-line error. */
  check: string;
}

const SETTING = (setting: string): StartRefusal => ({
  setting,
  check: setting,
});

// The refusals the store answers to every request until someone fixes a
// setting (or the host's clock), and what: an instance that meets one at
// start cannot store a file.
const START_REFUSALS: Record<string, StartRefusal> = {
  NoSuchBucket: SETTING("S3_BUCKET"),
  InvalidBucketName: SETTING("S3_BUCKET"),
  InvalidAccessKeyId: SETTING("AWS_ACCESS_KEY_ID"),
  SignatureDoesNotMatch: SETTING("AWS_SECRET_ACCESS_KEY"),
  // AWS's answer to a request signed for another region than the bucket's.
  AuthorizationHeaderMalformed: SETTING("S3_REGION"),
  AccessDenied: SETTING("AWS_ACCESS_KEY_ID"),
  // Ceph radosgw's for the key's user suspended: before, the instance
  // started and answered 503 to every request of /files.
  UserSuspended: SETTING("AWS_ACCESS_KEY_ID"),
  // AWS's for the key's account suspended or with all access disabled:
  // refused credentials while running (503), yet the start listened, passed
  // `/readyz` and answered 503 to every request of /files.
  AccountProblem: SETTING("AWS_ACCESS_KEY_ID"),
  AllAccessDisabled: SETTING("AWS_ACCESS_KEY_ID"),
  // Virtual-host style (`bucket.host`) to a store that serves buckets only
  // by path.
  [NOT_THE_BUCKET]: {
    setting: "S3_FORCE_PATH_STYLE",
    check: "S3_FORCE_PATH_STYLE: false needs a store that serves " +
      "BUCKET.ENDPOINT as the bucket",
  },
  // Requests are signed with this host's time; S3 takes 15 min either way.
  RequestTimeTooSkewed: {
    setting: "S3_ENDPOINT",
    check: "this host's clock against the store's",
  },
};

/**
 * What a certificate not trusted says to fix, from rustls's reason (what
 * follows "invalid peer certificate": the URL before it may hold any word):
 * a certificate out of its dates is as often this host's clock
 * (libfaketime two days ahead said "expired"), a name that does not fit is
 * S3_ENDPOINT's host; any other (an issuer not known) wants its CA in
 * DENO_CERT.
 */
function certificateRefusal(message: string): StartRefusal {
  const reason = message.slice(message.search(/invalid peer certificate/i));
  if (/expired|not valid yet/i.test(reason)) {
    return {
      setting: "S3_ENDPOINT",
      check: "the store's certificate dates against this host's clock",
    };
  }
  if (/not valid for name/i.test(reason)) {
    return {
      setting: "S3_ENDPOINT",
      check: "S3_ENDPOINT's host against the store's certificate",
    };
  }
  return {
    setting: "DENO_CERT",
    check: "DENO_CERT: the PEM file of the store's CA",
  };
}

/**
 * What a refusal of the store names (`S3_BUCKET` for `NoSuchBucket`,
 * `AWS_SECRET_ACCESS_KEY` for `SignatureDoesNotMatch`, the host's clock for
 * `RequestTimeTooSkewed`...), or `undefined` when `error` is no such
 * refusal (the store down, or full).
 */
export function startRefusal(error: unknown): StartRefusal | undefined {
  if (error instanceof StorageCertificateError) {
    return certificateRefusal(error.message);
  }
  // The credentials refused at start are settings to fix as well.
  const refused = error instanceof S3Error ||
    error instanceof StorageRefusedError;
  if (!refused || error.code === undefined) return undefined;
  return Object.hasOwn(START_REFUSALS, error.code)
    ? START_REFUSALS[error.code]
    : undefined;
}
