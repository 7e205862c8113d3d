/**
 * The failures of an S3 store's requests, sorted for the routes and the
 * start: {@linkcode S3Error} (a refusal naming a setting to fix), the
 * service's credentials refused or its bucket missing ({@linkcode refusal}:
 * a {@linkcode StorageRefusedError}, a {@linkcode StorageMissingError}), a
 * TLS certificate not trusted ({@linkcode StorageCertificateError}), a
 * store that did not answer. Which of them stop the start is
 * `s3_start_refusal.ts`.
 *
 * @module
 */

import {
  StorageClockError,
  StorageMissingError,
  StorageRefusedError,
  StorageUnavailableError,
} from "./storage.ts";
import { StorageProxyError } from "./proxy_tunnel.ts";
import type { Proxy } from "./proxy_rules.ts";
import { describe } from "../ops/error_chain.ts";

/** S3 refused a request for a reason other than being unavailable. */
export class S3Error extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** S3's error code, e.g. `NoSuchUpload`. */
  readonly code: string | undefined;
  /** Creates the error. */
  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    this.name = "S3Error";
    this.status = status;
    this.code = code;
  }
}

/**
 * The store sent nothing for `ms`: it took the connection (or the request)
 * and went silent, a store hanging (a stopped radosgw process, a path that
 * went dark) rather than one that refuses; `/readyz` says `unresponsive`.
 */
export class StorageTimeoutError extends StorageUnavailableError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageTimeoutError";
  }
}

/** The {@linkcode StorageTimeoutError} of a store silent for `ms`. */
export function silentFor(ms: number): StorageTimeoutError {
  return new StorageTimeoutError(`The object store sent nothing for ${ms} ms`);
}

/**
 * The store's TLS certificate is not trusted here (a private CA not named
 * by DENO_CERT, a name or date that does not fit): the store may well be
 * up, but nothing reaches it until a setting changes.
 */
export class StorageCertificateError extends StorageUnavailableError {
  /** Creates the error; `cause` is fetch's error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageCertificateError";
  }
}

// The store's refusals of the service's credentials themselves: a key
// removed or rotated away, a secret changed, the key's user suspended or
// its access taken away. While the service runs its requests are sound
// and the store takes them again once an operator restores the
// credentials: a 503 to come back later, not a 500 and a stack per request
// (radosgw with its key removed: 2,818 error lines, 2 MB, in 4 s of load).
const CREDENTIALS_REFUSED = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  // Ceph radosgw's answer to a request of a suspended user.
  "UserSuspended",
  // AWS's for an account suspended, or with all access disabled.
  "AccountProblem",
  "AllAccessDisabled",
]);

/**
 * The error for the store's refusal of `method` on `path` (its answer's
 * `status` and error `code`, e.g. 403 `InvalidAccessKeyId`; none for a
 * HEAD): a {@linkcode StorageProxyError} when the answer is a proxy's
 * (see {@linkcode proxyRefusal}), a
 * {@linkcode StorageMissingError} when the bucket is missing, a
 * {@linkcode StorageClockError} when this host's clock is too far off, a
 * {@linkcode StorageRefusedError} when the refusal is of the credentials,
 * else an {@linkcode S3Error}. `proxy` is the one the request went through
 * when the answer may be its: an `http://` store's, without S3's
 * `x-amz-request-id`.
 */
export function refusal(
  method: string,
  path: string,
  status: number,
  code: string | undefined,
  proxy?: Proxy,
): S3Error | StorageRefusedError | StorageProxyError {
  // Only a proxy asks for its credentials; one in front of an `http://`
  // store answers in its stead without S3's request id or error code.
  if (status === 407 || proxy !== undefined && code === undefined) {
    return proxyRefusal(method, status, proxy);
  }
  const answer = `${method} ${path}: ${status}${code ? ` ${code}` : ""}`;
  // The bucket deleted under the running service: a 500 and a stack per
  // request before (a flood, telling clients the server failed), though it
  // serves again as soon as the bucket is made again. Not "the name
  // S3_BUCKET gives" alone: behind an S3_ENDPOINT with a path, the store
  // takes the path for the bucket (the start says to check that first).
  if (code === "NoSuchBucket") {
    return new StorageMissingError(
      code,
      "The object store has no bucket where S3_ENDPOINT and S3_BUCKET " +
        `point: ${answer}`,
    );
  }
  // This host's clock off the store's: every request refused until it is
  // right again (NTP), a 500 and a stack per request before.
  if (code === "RequestTimeTooSkewed") {
    return new StorageClockError(
      code,
      "The object store refused the time of this host's requests " +
        `(its clock is over 15 min off the store's): ${answer}`,
    );
  }
  // A HEAD's answer has no body to name its code: its 403 is S3's status
  // for a refused signature or access (radosgw's to HeadObject with the
  // key removed or the user suspended).
  if (code === undefined ? status === 403 : CREDENTIALS_REFUSED.has(code)) {
    return new StorageRefusedError(
      code,
      "The object store refused the service's credentials " +
        `(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): ${answer}`,
    );
  }
  return new S3Error(status, code, `The object store refused ${answer}`);
}

/**
 * The error for a proxy's refusal of `method` (`status`: 407 for its
 * credentials, 403 for a host its rules do not admit, any other): no
 * refusal of the store's (a 403 blamed the service's credentials, other
 * statuses were a 500 and a stack per request) but the way to it shut
 * until the proxy or its settings change (503), as the CONNECT refusals
 * are (`proxy_tunnel.ts`).
 */
function proxyRefusal(
  method: string,
  status: number,
  proxy: Proxy | undefined,
): StorageProxyError {
  const named = proxy ? ` ${proxy.shown}` : "";
  const check = status === 407
    ? "the proxy URL's credentials"
    : "the proxy's rules for the store's host, or NO_PROXY";
  return new StorageProxyError(
    `The proxy${named} refused ${method} to the object store: ${status} (check ${check})`,
    status,
  );
}

/** The code of {@linkcode notTheBucket}'s error (no store sends it). */
export const NOT_THE_BUCKET = "NotTheBucketsAnswer";

/**
 * The error for a 2xx answer to `request` (e.g. `GET ?uploads`) that is no
 * answer of the bucket's: a store that does not serve buckets as virtual
 * hosts (radosgw or MinIO without their DNS name set) took
 * `bucket.host/?uploads` for a listing of all buckets. The instance
 * started, answered `/readyz` 200 and 503 to every upload (`files/` taken
 * for the bucket).
 */
export function notTheBucket(request: string): S3Error {
  return new S3Error(
    200,
    NOT_THE_BUCKET,
    `The object store answered ${request} with no listing of the bucket`,
  );
}

/** The text of `res`; its body breaking off is the store's fault. */
export async function textOf(res: Response): Promise<string> {
  try {
    return await res.text();
  } catch (error) {
    throw new StorageUnavailableError(
      `The object store's answer broke off: ${describe(error)}`,
      { cause: error },
    );
  }
}

/** What {@linkcode answerOf} names a request by, when it refuses its answer. */
export interface AnsweredRequest {
  method: string;
  query?: Record<string, string>;
}

/**
 * The text of `res`, a 2xx answer to `request`, when its root element is
 * `answer` (e.g. `ListBucketResult`), else {@linkcode notTheBucket}'s
 * error: a store that serves buckets only by path
 * (`S3_FORCE_PATH_STYLE=false`) answers `bucket.host/` with a listing of
 * all buckets, which passed as the bucket's (`/readyz` said ready). The
 * text is handed on, not put back in a `Response` read again; the request
 * is only spelled out for the error.
 */
export async function answerOf(
  res: Response,
  answer: string,
  request: AnsweredRequest,
): Promise<string> {
  const text = await textOf(res);
  if (!text.includes(`<${answer}`)) {
    const query = new URLSearchParams(request.query).toString();
    throw notTheBucket(`${request.method} ?${query}`);
  }
  return text;
}

/**
 * A `NoSuchBucket` naming another bucket than the service's: the store took
 * a segment of the key for the bucket (`files` of `bucket.host/files/<id>`,
 * radosgw without `rgw_dns_name`), the state {@linkcode notTheBucket}
 * finds in a listing. 503 to the routes as a bucket missing; `/readyz`
 * went `not-the-bucket` (probe), `bucket-missing` (a download) and back.
 */
export class StorageOtherBucketError extends StorageMissingError {
  /** Creates the error; `code` is the store's, `NoSuchBucket`. */
  constructor(code: string | undefined, message: string) {
    super(code, message);
    this.name = "StorageOtherBucketError";
  }
}

/**
 * `error` (a refusal) as a {@linkcode StorageOtherBucketError} when it is
 * a bucket missing and the store named another bucket than `bucket`.
 */
export function missingOther<E>(
  error: E,
  named: string | undefined,
  bucket: string,
): E | StorageOtherBucketError {
  if (!(error instanceof StorageMissingError)) return error;
  if (named === undefined || named === bucket) return error;
  const other = ` (the store named bucket "${named}", not S3_BUCKET's)`;
  return new StorageOtherBucketError(error.code, error.message + other);
}

/** Whether `error` says the store answers for another than the bucket. */
export function isNotTheBucket(error: unknown): boolean {
  return error instanceof S3Error && error.code === NOT_THE_BUCKET ||
    error instanceof StorageOtherBucketError;
}

/** How far S3 takes a request's signed time from its own, ms. */
const SKEW_ALLOWED_MS = 15 * 60_000;

/**
 * `RequestTimeTooSkewed` for a 403 without a body (a HEAD's) whose `Date`
 * is further from this host's clock than S3 takes: the code the body
 * would have named. Else a download refused for the clock was told as
 * refused credentials.
 */
export function skewedHead(res: Response): string | undefined {
  if (res.status !== 403) return undefined;
  const date = Date.parse(res.headers.get("date") ?? "");
  return Math.abs(Date.now() - date) > SKEW_ALLOWED_MS
    ? "RequestTimeTooSkewed"
    : undefined;
}

/**
 * The error for a request the store did not answer: fetch's "fetch failed"
 * says why only in its causes (refused, reset, a certificate not trusted).
 */
export function unreachable(
  method: string,
  error: unknown,
): StorageUnavailableError {
  const reason = describe(error);
  // fetch rejects with the timeout's reason: the store took the request
  // and went silent, which `/readyz` tells from one refusing connections.
  if (error instanceof StorageTimeoutError) {
    return new StorageTimeoutError(
      `The object store did not answer ${method}: ${reason}`,
      { cause: error },
    );
  }
  // rustls's words, e.g. "invalid peer certificate: UnknownIssuer".
  if (/invalid peer certificate/i.test(reason)) {
    return new StorageCertificateError(
      `The object store's TLS certificate is not trusted: ${reason}`,
      { cause: error },
    );
  }
  // hyper's words for a CONNECT answered with other than 200 (the same
  // refusal the PUTs of bytes meet on their own tunnel, `proxy_tunnel.ts`).
  const tunnel = /proxy authentication required|unsuccessful tunnel/i.exec(
    reason,
  );
  if (tunnel) {
    return new StorageProxyError(
      `The proxy refused the tunnel to the object store (${method}): ${reason}`,
      /authentication/i.test(tunnel[0]) ? 407 : undefined,
    );
  }
  return new StorageUnavailableError(
    `The object store did not answer ${method}: ${reason}`,
    { cause: error },
  );
}
