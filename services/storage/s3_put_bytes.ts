/**
 * A PUT of bytes over `node:http` rather than `fetch`: the parts of a
 * multipart upload to an `http://` store go this way (not to an `https://`
 * one: Deno 2.9's node:https trusts neither `DENO_CERT` nor, under the
 * start task's permissions, any CA at all; see `s3_bucket.ts`). Deno 2.9's
 * fetch keeps several copies of a request body alive (the Request's copy
 * of the bytes, the runtime's send buffer) and frees them late: 1 GiB sent
 * as 8 MiB parts, 4 at a time, grew the process by ~220 MiB over fetch and
 * by ~50 MiB over node:http, 40 of which are the part buffers themselves.
 * The body goes out as one Buffer view of the caller's bytes (no copy),
 * with a Content-Length (S3 refuses chunked parts), after
 * `Expect: 100-continue`.
 *
 * ```ts ignore
 * const answer = await putBytes(url, signedHeaders, bytes, { signal });
 * answer.status; // 200
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import http from "node:http";

/** How long to wait for 100 Continue before sending the bytes anyway. */
const CONTINUE_WAIT_MS = 1000;

/** Longest answer body kept: S3's error documents are small. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** What the store answered to a {@linkcode putBytes}. */
export interface PutAnswer {
  status: number;
  headers: Headers;
  /** The answer's body as text (S3's XML error document, if any). */
  text: string;
}

/** Options of {@linkcode putBytes}. */
export interface PutBytesOptions {
  /** Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** PUTs `body` to `url` with `headers`; resolves the store's answer. */
export function putBytes(
  url: URL,
  headers: Headers,
  body: Uint8Array,
  options: PutBytesOptions = {},
): Promise<PutAnswer> {
  const { signal } = options;
  if (url.protocol !== "http:") {
    throw new TypeError(`Unsupported protocol: ${url.protocol}`);
  }
  signal?.throwIfAborted();
  const outgoing: Record<string, string> = {};
  headers.forEach((value, name) => outgoing[name] = value);
  const length = body.byteLength;
  outgoing["content-length"] = String(length);
  outgoing["expect"] = "100-continue";
  return new Promise<PutAnswer>((resolve, reject) => {
    const request = http.request(url, {
      method: "PUT",
      headers: outgoing,
      // A connection per part: an 8 MiB part dwarfs a handshake, and no
      // idle socket outlives the upload.
      agent: false,
      ...(signal ? { signal } : {}),
    }, (response) => collectAnswer(response).then(resolve, reject));
    request.on("error", (error) => reject(signal?.reason ?? error));
    // The bytes go out once the store said 100 Continue: a refusal (over
    // quota, bad credentials) then arrives as an answer instead of a reset
    // in the middle of 8 MiB. A store that ignores Expect gets them after a
    // second, as curl does.
    let sent = false;
    const sendBody = () => {
      if (sent || request.destroyed) return;
      sent = true;
      clearTimeout(fallback);
      // Called from a timer or an event: a throw here would end the
      // process. Bytes the upload freed meanwhile (it failed elsewhere,
      // and its buffers were detached: the view's length went to 0) fail
      // this PUT instead.
      if (body.byteLength !== length) {
        request.destroy(new TypeError("the part's bytes were freed"));
        return;
      }
      request.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    };
    const fallback = setTimeout(sendBody, CONTINUE_WAIT_MS);
    request.on("continue", sendBody);
    request.on("response", () => clearTimeout(fallback));
    request.on("close", () => clearTimeout(fallback));
  });
}

/** The store's answer, its body kept up to {@linkcode MAX_ANSWER_BYTES}. */
function collectAnswer(response: http.IncomingMessage): Promise<PutAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    response.on("data", (chunk: Buffer) => {
      if (kept < MAX_ANSWER_BYTES) chunks.push(chunk);
      kept += chunk.byteLength;
    });
    response.on("error", reject);
    response.on("end", () =>
      resolve({
        status: response.statusCode ?? 0,
        headers: answerHeaders(response.headers),
        text: Buffer.concat(chunks).toString("utf8"),
      }));
  });
}

function answerHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      headers.append(name, one);
    }
  }
  return headers;
}
