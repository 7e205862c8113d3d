/**
 * One S3 bucket as the {@linkcode S3Storage} talks to it: signed requests
 * (SigV4 by `npm:aws4fetch`; PUTs of bytes written straight onto a
 * connection, see `s3_put_bytes.ts`; no retries: a failed call fails the upload,
 * which the client may retry as a whole), each bounded by `timeoutMs` (the
 * wait for the answer, then each chunk of its body), and the store's
 * faults sorted out:
 *
 * - unreachable, timed out, 5xx or SlowDown: the store is down or slow, a
 *   {@linkcode StorageUnavailableError} (the routes answer 503 with
 *   Retry-After: trying again later may work); a TLS certificate this
 *   process does not trust is one too, whose message says so (see
 *   `s3_errors.ts`; at start it stops the start, naming DENO_CERT);
 * - full or over a quota (Ceph's QuotaExceeded, MinIO's
 *   XMinioAdminBucketQuotaExceeded and XMinioStorageFull): the store
 *   refuses more data for now, a {@linkcode StorageFullError} (503 with
 *   Retry-After too: the local disk's 507, as the issue asks; deleting
 *   files makes room);
 * - the service's credentials refused (InvalidAccessKeyId,
 *   SignatureDoesNotMatch, AccessDenied, radosgw's UserSuspended): a
 *   {@linkcode StorageRefusedError}, unavailable too (503 with
 *   Retry-After): while the service runs, that is a key revoked or a user
 *   suspended, which the store takes again once an operator restores it;
 *   at start it stops the start, naming the setting (`s3_errors.ts`);
 * - this host's clock over 15 min off the store's (RequestTimeTooSkewed,
 *   or a HEAD's bodiless 403 whose Date says so): a
 *   {@linkcode StorageClockError}, unavailable too (503 with Retry-After)
 *   until the clock is right; at start it stops the start, naming the
 *   clock;
 * - the bucket missing (NoSuchBucket, deleted while the service runs, an
 *   expected 404 included): a {@linkcode StorageMissingError}, unavailable
 *   too (503 with Retry-After): the service serves again once the bucket
 *   is made again; at start it stops the start, naming S3_BUCKET;
 * - any other refusal (InvalidBucketName...): an
 *   {@linkcode S3Error}. These name a setting the operator must fix, so
 *   retrying cannot help and a 503 with Retry-After would say otherwise:
 *   the central handler answers 500 with the request id and logs the
 *   store's code under it.
 *
 * @module
 */

import { AwsClient } from "aws4fetch";
import { StorageFullError, StorageUnavailableError } from "./storage.ts";
import { putBytes } from "./s3_put_bytes.ts";
import { type Proxy, ProxyRules } from "./proxy_rules.ts";
import { StorageProxyError } from "./proxy_tunnel.ts";
import { readEnv } from "../ops/startup.ts";
import { noDescriptorFor, outOfDescriptors } from "../ops/descriptors.ts";
import {
  answerOf,
  missingOther,
  refusal,
  silentFor,
  skewedHead,
  textOf,
  unreachable,
} from "./s3_errors.ts";
import { xmlValue } from "./s3_xml.ts";
import { idleTimed } from "./s3_idle_body.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { BUCKET_NAME } from "../ops/config_values.ts";

export { S3Error } from "./s3_errors.ts";

/** The refusals that mean "full or over quota" (Ceph, MinIO). */
const FULL = new Set([
  "QuotaExceeded",
  "XMinioAdminBucketQuotaExceeded",
  "XMinioStorageFull",
]);

/** Where the bucket is and how to sign for it. */
export interface S3BucketOptions {
  /** The store's base URL, e.g. `https://s3.example.com`. */
  endpoint: URL;
  /** The bucket's name. */
  bucket: string;
  /** The signing region. @default {"us-east-1"} */
  region?: string;
  /** `endpoint/bucket/key` (true) or `bucket.endpoint/key`. @default {true} */
  forcePathStyle?: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * Longest wait for the answer to one request (a part's upload included),
   * and for each chunk of an answer's body. @default {30000}
   */
  timeoutMs?: number;
  /** Told of each request answered (2xx) or failed, e.g. an `S3Health`. */
  observer?: BucketObserver;
  /**
   * The proxies the PUTs of bytes take, the ones fetch takes for the other
   * calls (`proxy_rules.ts`). @default {ProxyRules.fromEnv(readEnv)}
   */
  proxies?: ProxyRules;
}

/** What is told of the bucket's requests (`s3_health.ts`). */
export interface BucketObserver {
  /** A request was answered 2xx. */
  answered(): void;
  /** A request failed with `error` (not one its caller's signal ended). */
  failed(error: unknown): void;
}

/** One request to the bucket. */
export interface S3Request {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** The object key, or `""` for the bucket itself. */
  key: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Always bytes: Deno sends streams chunked, which S3 refuses (411). */
  body?: Uint8Array<ArrayBuffer> | string;
  /** Statuses answered as they are rather than thrown. @default {[]} */
  expect?: readonly number[];
  /** The root element a 2xx answer must have (`s3_errors.ts`'s answerOf). */
  answer?: string;
  signal?: AbortSignal;
}

/** What {@linkcode S3Bucket} hands to its transport. */
interface TransmitInit {
  method: S3Request["method"];
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | string;
  signal: AbortSignal;
}

// The calls over fetch (a multipart upload's creation and completion, a
// listing, a download) take a connection each while they run: many uploads
// at once open many. The runtime's default pool kept every one idle for 90 s
// (116 descriptors after 64 small uploads at once, half of a `ulimit -n
// 256`, out of reach of the accept loop's reclaiming); a few per host stay.
const IDLE_CONNECTIONS = 8;
const IDLE_MS = 10_000;

/** Statuses whose answers have no body (a Response refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A bucket of an S3-compatible store. */
export class S3Bucket implements Disposable {
  readonly #client: AwsClient;
  readonly #http: Deno.HttpClient;
  readonly #base: string;
  readonly #bucket: string;
  readonly #timeoutMs: number;
  readonly #observer: BucketObserver | undefined;
  readonly #proxies: ProxyRules;

  /** Creates the bucket handle; no request is made. */
  constructor(options: S3BucketOptions) {
    const { endpoint, bucket, region = "us-east-1" } = options;
    const { forcePathStyle = true, timeoutMs = 30_000 } = options;
    this.#proxies = options.proxies ?? ProxyRules.fromEnv(readEnv);
    if (!BUCKET_NAME.test(bucket)) {
      throw new TypeError(`Invalid bucket name: ${bucket}`);
    }
    checkWholeNumbers({ timeoutMs });
    const base = new URL(endpoint);
    if (!forcePathStyle) base.hostname = `${bucket}.${base.hostname}`;
    const root = base.href.replace(/\/+$/, "");
    this.#base = forcePathStyle ? `${root}/${bucket}` : root;
    this.#bucket = bucket;
    this.#timeoutMs = timeoutMs;
    this.#observer = options.observer;
    this.#client = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      region,
      service: "s3",
      retries: 0,
    });
    this.#http = Deno.createHttpClient({
      poolMaxIdlePerHost: IDLE_CONNECTIONS,
      poolIdleTimeout: IDLE_MS,
    });
  }

  /** Closes the connections kept to the store. */
  close(): void {
    this.#http.close();
  }

  /** Same as {@linkcode S3Bucket.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Sends `request`; resolves its response when it is 2xx or expected,
   * else throws (the body of a thrown response is consumed). The observer
   * hears of a 2xx, or of the failure.
   */
  async send(request: S3Request): Promise<Response> {
    const { res, text } = await this.#answered(request);
    return text === undefined ? res : new Response(text, res);
  }

  /**
   * {@linkcode S3Bucket.send}'s answer, and its text when `request.answer`
   * is set: read once, checked, handed on (not read again from a copy).
   */
  async #answered(
    request: S3Request,
  ): Promise<{ res: Response; text?: string }> {
    try {
      const res = await this.#exchange(request);
      const text = res.ok && request.answer !== undefined
        ? await answerOf(res, request.answer, request)
        : undefined;
      if (res.ok) this.#observer?.answered();
      return text === undefined ? { res } : { res, text };
    } catch (error) {
      if (!request.signal?.aborted) this.#observer?.failed(error);
      throw error;
    }
  }

  async #exchange(request: S3Request): Promise<Response> {
    const { method, key, query, headers, body, expect = [] } = request;
    const url = new URL(key === "" ? `${this.#base}/` : `${this.#base}/${key}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      url.searchParams.set(name, value);
    }
    // The timeout bounds the wait for the answer (a part's bytes go out
    // before it); the answer's body is then bounded per chunk (see
    // `idleTimed`), not in total: a long download to a slow client is fine.
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(silentFor(this.#timeoutMs)),
      this.#timeoutMs,
    );
    const signal = request.signal
      ? AbortSignal.any([timeout.signal, request.signal])
      : timeout.signal;
    let res: Response;
    try {
      res = await this.#transmit(url, {
        method,
        ...(headers ? { headers } : {}),
        ...(body === undefined ? {} : { body }),
        signal,
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof StorageProxyError) throw error;
      // This process out of descriptors (EMFILE): no storage error (it
      // called the store down), the central handler's 503, its line
      // naming the store (fetch's error names none).
      if (outOfDescriptors(error)) throw noDescriptorFor("store", error);
      throw unreachable(method, error);
    } finally {
      clearTimeout(timer);
    }
    if (
      res.ok || expect.includes(res.status) && !mayBeBucketMissing(method, res)
    ) {
      return idleTimed(res, this.#timeoutMs, timeout);
    }
    const text = await res.text().catch(() => "");
    const code = xmlValue(text, "Code") ?? skewedHead(res);
    if (expect.includes(res.status) && code !== "NoSuchBucket") {
      return new Response(text, { status: res.status, headers: res.headers });
    }
    if (code !== undefined && FULL.has(code)) {
      throw new StorageFullError(
        `The object store refused ${method} for space: ${res.status} ${code}`,
      );
    }
    if (res.status >= 500 || code === "SlowDown") {
      throw new StorageUnavailableError(
        `The object store answered ${res.status} ${code ?? ""} to ${method}`,
      );
    }
    const mayBe = this.#mayBe(url, res);
    const refused = refusal(method, url.pathname, res.status, code, mayBe);
    throw missingOther(refused, xmlValue(text, "BucketName"), this.#bucket);
  }

  /**
   * A PUT of bytes (a part, a metadata object) goes straight onto a
   * connection, signed here (see `s3_put_bytes.ts`: fetch holds on to
   * copies of a part's bytes), over http and https alike, through the
   * proxy fetch would take (an `http://` one; a SOCKS or `https://` proxy
   * leaves the bytes to fetch); everything else over aws4fetch's fetch.
   */
  async #transmit(url: URL, init: TransmitInit): Promise<Response> {
    const { method, headers, body, signal } = init;
    // aws4fetch builds its Request from this init, client included.
    const fetched = { ...init, client: this.#http };
    const proxy = this.#proxies.proxyFor(url);
    if (
      method !== "PUT" || !(body instanceof Uint8Array) ||
      (proxy && proxy.scheme !== "http")
    ) {
      return await this.#client.fetch(url.href, fetched);
    }
    const signed = await this.#client.sign(url.href, {
      method,
      ...(headers ? { headers } : {}),
    });
    let answer;
    try {
      answer = await putBytes(url, signed.headers, body, {
        signal,
        ...(proxy ? { proxy } : {}),
      });
    } catch (error) {
      // fetch would take the same proxy, and be refused the same way.
      if (signal.aborted || error instanceof StorageProxyError) throw error;
      // A store that refuses in the middle of the bytes (radosgw over its
      // quota) answers and closes: the write may see only the broken pipe.
      // fetch reads such an early answer, so the part goes again that way
      // (a part PUT may be repeated) and the refusal is seen for what it is.
      return await this.#client.fetch(url.href, fetched);
    }
    return new Response(NULL_BODY.has(answer.status) ? null : answer.text, {
      status: answer.status,
      headers: answer.headers,
    });
  }

  /**
   * The proxy whose answer `res` may be: the one `url` goes through, when
   * the store is `http://` (the proxy answers in its stead; over https it
   * can only refuse the tunnel) and the answer lacks the request id every
   * S3 answer carries (radosgw's, AWS's, MinIO's).
   */
  #mayBe(url: URL, res: Response): Proxy | undefined {
    if (url.protocol !== "http:" || res.headers.has("x-amz-request-id")) {
      return undefined;
    }
    return this.#proxies.proxyFor(url);
  }

  /** Sends `request` and drops the answer's body; resolves its status. */
  async run(request: S3Request): Promise<number> {
    const { res, text } = await this.#answered(request);
    if (text === undefined) await res.body?.cancel();
    return res.status;
  }

  /** The text of a 2xx answer to `request`. */
  async text(request: S3Request): Promise<string> {
    const { res, text } = await this.#answered(request);
    return text ?? await textOf(res);
  }
}

/**
 * Whether an expected 404 (an object not there) may be the bucket's
 * absence: its body names which (`NoSuchKey` or `NoSuchBucket`), and a
 * bucket deleted must not read as "no such file" (a GET of a file's
 * metadata). A HEAD's answer has no body to tell.
 */
function mayBeBucketMissing(method: string, res: Response): boolean {
  return res.status === 404 && method !== "HEAD" && res.body !== null;
}
