/**
 * One S3 bucket as the {@linkcode S3Storage} talks to it: signed requests
 * (SigV4 by `npm:aws4fetch`, no retries: a failed call fails the upload,
 * which the client may retry as a whole), each with a timeout, and the
 * store's faults sorted out: unreachable, timed out, 5xx or SlowDown is a
 * {@linkcode StorageUnavailableError} (the routes answer 503 with
 * Retry-After), any other refusal an {@linkcode S3Error}.
 *
 * @module
 */

import { AwsClient } from "aws4fetch";
import { StorageUnavailableError } from "./storage.ts";
import { xmlValue } from "./s3_xml.ts";

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
  /** How long one request may take (parts included). @default {30000} */
  timeoutMs?: number;
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
  signal?: AbortSignal;
}

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

/** A bucket of an S3-compatible store. */
export class S3Bucket {
  readonly #client: AwsClient;
  readonly #base: string;
  readonly #timeoutMs: number;

  /** Creates the bucket handle; no request is made. */
  constructor(options: S3BucketOptions) {
    const { endpoint, bucket, region = "us-east-1" } = options;
    const { forcePathStyle = true, timeoutMs = 30_000 } = options;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new TypeError(`Invalid bucket name: ${bucket}`);
    }
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new RangeError("timeoutMs must be a positive integer");
    }
    const base = new URL(endpoint);
    if (!forcePathStyle) base.hostname = `${bucket}.${base.hostname}`;
    const root = base.href.replace(/\/+$/, "");
    this.#base = forcePathStyle ? `${root}/${bucket}` : root;
    this.#timeoutMs = timeoutMs;
    this.#client = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      region,
      service: "s3",
      retries: 0,
    });
  }

  /**
   * Sends `request`; resolves its response when it is 2xx or expected,
   * else throws (the body of a thrown response is consumed).
   */
  async send(request: S3Request): Promise<Response> {
    const { method, key, query, headers, body, expect = [] } = request;
    const url = new URL(key === "" ? `${this.#base}/` : `${this.#base}/${key}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      url.searchParams.set(name, value);
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = request.signal
      ? AbortSignal.any([timeout, request.signal])
      : timeout;
    let res: Response;
    try {
      res = await this.#client.fetch(url.href, {
        method,
        ...(headers ? { headers } : {}),
        ...(body === undefined ? {} : { body }),
        signal,
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw new StorageUnavailableError(
        `The object store did not answer ${method}: ${describe(error)}`,
        { cause: error },
      );
    }
    if (res.ok || expect.includes(res.status)) return res;
    const text = await res.text().catch(() => "");
    const code = xmlValue(text, "Code");
    if (res.status >= 500 || code === "SlowDown") {
      throw new StorageUnavailableError(
        `The object store answered ${res.status} ${code ?? ""} to ${method}`,
      );
    }
    throw new S3Error(
      res.status,
      code,
      `The object store refused ${method} ${url.pathname}: ${res.status} ${
        code ?? ""
      }`,
    );
  }

  /** Sends `request` and drops the answer's body; resolves its status. */
  async run(request: S3Request): Promise<number> {
    const res = await this.send(request);
    await res.body?.cancel();
    return res.status;
  }

  /** The text of a 2xx answer to `request`. */
  async text(request: S3Request): Promise<string> {
    const res = await this.send(request);
    try {
      return await res.text();
    } catch (error) {
      throw new StorageUnavailableError(
        `The object store's answer broke off: ${describe(error)}`,
        { cause: error },
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
