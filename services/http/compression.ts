/**
 * Response compression done by the app rather than by the server: the
 * server path of `main.ts` (one connection at a time, see
 * `services/server/http_server.ts`) has no compression of its own, and doing it
 * here keeps every mode (`deno run`, `deno serve`, tests) alike.
 *
 * Rules, close to what `Deno.serve`'s automatic compression did:
 * - only compressible media types (text, JSON, XML, JavaScript, SVG);
 * - every such response gets `Vary: Accept-Encoding`, compressed or not,
 *   and so does every 304 without a non-compressible `Content-Type`, so a
 *   shared cache never hands a gzip body to a client that did not ask;
 * - `Cache-Control: no-transform` answers (stored files, event streams)
 *   are never compressed, so they do not vary on `Accept-Encoding`, nor do
 *   their 304s;
 * - bodies under {@linkcode CompressorOptions.minBytes}, partial content
 *   and already encoded bodies are sent as is;
 * - the answer to a client that takes br or gzip carries a weak `ETag`
 *   (the compressed variant is a different byte sequence of the same
 *   representation), compressed or sent as is for being short, and so does
 *   its 304: a 304 carries the `ETag` its 200 would (RFC 9110 15.4.5), and
 *   a cache that revalidated a gzip copy with a 304 holding the strong tag
 *   (Varnish) served gzip bytes under the tag of the identity bytes;
 * - an answer whose strong tag the request's `If-Match` named is sent
 *   uncoded under that tag (`compressed_variant.ts`: a coded copy's weak tag
 *   would not match it);
 * - compressed bytes of bodies with an `ETag` are kept in a small LRU, so a
 *   cache hit is not compressed again on every request.
 *
 * Which types and answers may be compressed is in `compressible.ts`, the
 * copy's `ETag` and key in `compressed_variant.ts`, the copy itself in
 * `compressed_answer.ts`.
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import { concat } from "./bytes_concat.ts";
import { type Coding, encode, readUpTo } from "./encoders.ts";
import { codingOf } from "./accept_encoding.ts";
import type { Pieces } from "./pieces.ts";
import type { Reply } from "./reply.ts";
import { varyWith } from "./vary.ts";
import { isCompressible, saysNoTransform } from "./compressible.ts";
import {
  type CompressedRequest,
  pinnedByIfMatch,
  type Variant,
  variantOf,
  weakTagOf,
} from "./compressed_variant.ts";
import {
  encodedReply,
  encodedResponse,
  streamedResponse,
} from "./compressed_answer.ts";

import { checkWholeNumbers } from "../ops/whole_numbers.ts";

export { isCompressible } from "./compressible.ts";
export type { CompressedRequest } from "./compressed_variant.ts";

/** Options of {@linkcode Compressor}. */
export interface CompressorOptions {
  /** Smaller bodies are sent uncompressed. @default {64} */
  minBytes?: number;
  /**
   * Bodies up to this size are compressed in one call (and may be kept in
   * the LRU); longer ones are streamed through gzip. @default {4194304}
   */
  maxBufferedBytes?: number;
  /**
   * Bound of the compressed bodies kept by `ETag`, each counted with its
   * key and {@linkcode VARIANT_OVERHEAD_BYTES}. @default {8388608}
   */
  cacheBytes?: number;
}

function addVary(headers: Headers): void {
  const vary = headers.get("vary");
  const added = varyWith(vary, "Accept-Encoding");
  if (added !== vary) headers.set("vary", added);
}

/**
 * Whether an answer's body is sent as it is, whatever the client takes:
 * it is coded already (`Content-Encoding`), or a range of a body
 * (`Content-Range`). Its headers are read by name by each caller.
 */
function sentAsIs(
  contentEncoding: string | null | undefined,
  contentRange: string | null | undefined,
): boolean {
  return contentEncoding != null || contentRange != null;
}

/**
 * What to do with an answer: add `Vary`; with a `coding` (the client takes
 * it), encode the body in it when it is long enough, and weaken the `ETag`.
 */
interface Plan {
  readonly vary: boolean;
  readonly coding?: Coding;
}

// Every plan, made once: no allocation per answer.
const VARY: Plan = { vary: true };
const NO_VARY: Plan = { vary: false };
const CODED: Readonly<Record<Coding, Plan>> = {
  br: { vary: true, coding: "br" },
  gzip: { vary: true, coding: "gzip" },
};

/**
 * What a kept compressed body costs beyond its bytes and key characters:
 * the `Uint8Array` and its `ArrayBuffer` (V8 objects, the native backing
 * store), the key string's header and the LRU's slots, with the V8 heap's
 * slack (~1 KiB of resident memory each, measured with Deno 2.9). Without
 * it, 8 MiB of 40-byte bodies would be 200k entries.
 */
export const VARIANT_OVERHEAD_BYTES = 1024;

/** Compresses the app's responses; see the module doc for the rules. */
export class Compressor {
  readonly #minBytes: number;
  readonly #maxBufferedBytes: number;
  readonly #cache: LRUCache<string, Uint8Array> | undefined;

  constructor(options: CompressorOptions = {}) {
    const {
      minBytes = 64,
      maxBufferedBytes = 4 * 1024 * 1024,
      cacheBytes = 8 * 1024 * 1024,
    } = options;
    checkWholeNumbers({ minBytes, cacheBytes }, { min: 0 });
    checkWholeNumbers({ maxBufferedBytes });
    this.#minBytes = minBytes;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#cache = cacheBytes === 0 ? undefined : new LRUCache({
      maxSize: cacheBytes,
      sizeCalculation: (bytes, key) =>
        bytes.byteLength + key.length + VARIANT_OVERHEAD_BYTES,
    });
  }

  /**
   * What the rules say for an answer with `status`, `type` (its
   * `Content-Type`) and `cacheControl`, to `req`: whether it varies on
   * `Accept-Encoding` and the coding the client takes, if any (the caller
   * then drops the coding for a body sent as it is: see
   * {@linkcode sentAsIs}). A 304 has no `Content-Type`: it stands for the
   * 200 it validates, and is planned as that 200 would be.
   */
  #plan(
    req: CompressedRequest,
    status: number,
    type: string | null,
    cacheControl: string | null,
  ): Plan {
    if (!(status === 304 && type === null) && !isCompressible(type)) {
      return NO_VARY;
    }
    if (saysNoTransform(cacheControl)) return NO_VARY;
    const coding = codingOf(req.headers.get("accept-encoding"));
    return coding === undefined || status === 206 ? VARY : CODED[coding];
  }

  /**
   * The response to send for `req`: `response` itself (with `Vary` added
   * when its body could be compressed), or a compressed copy of it.
   */
  apply(
    req: CompressedRequest,
    response: Response,
  ): Response | Promise<Response> {
    const { headers, status } = response;
    let plan = this.#plan(
      req,
      status,
      headers.get("content-type"),
      headers.get("cache-control"),
    );
    if (
      plan.coding !== undefined &&
      (sentAsIs(
        headers.get("content-encoding"),
        headers.get("content-range"),
      ) ||
        pinnedByIfMatch(req, status, headers))
    ) plan = VARY;
    if (plan.vary) addVary(headers);
    if (plan.coding === undefined) return response;
    const declared = headers.get("content-length");
    // `body` only now: reading it turns a body of bytes into a stream,
    // which the server then sends chunked.
    if (
      (declared !== null && Number(declared) < this.#minBytes) ||
      response.body === null
    ) {
      const weak = weakTagOf(req, status, headers);
      if (weak !== undefined) headers.set("etag", weak);
      return response;
    }
    const variant = variantOf(req, status, headers, plan.coding, declared);
    const cached = variant.key === undefined
      ? undefined
      : this.#cache?.get(variant.key);
    if (cached !== undefined) {
      response.body.cancel().catch(() => {});
      return encodedResponse(response, cached, variant);
    }
    return this.#compress(response, variant);
  }

  /**
   * {@linkcode Compressor.apply} for a {@linkcode Reply}: the same rules,
   * applied to its plain header record, so the `Response` is built once.
   */
  applyReply(req: CompressedRequest, reply: Reply): Reply | Promise<Reply> {
    const { headers, status, body } = reply;
    // Read by name here, not through compressed_variant.ts's headerOf: a
    // load whose name varies is megamorphic, and left JIT code for the
    // runtime on every hit.
    let plan = this.#plan(
      req,
      status,
      headers["content-type"] ?? null,
      headers["cache-control"] ?? null,
    );
    if (
      plan.coding !== undefined &&
      (sentAsIs(headers["content-encoding"], headers["content-range"]) ||
        pinnedByIfMatch(req, status, headers))
    ) plan = VARY;
    if (plan.vary) headers.vary = varyWith(headers.vary, "Accept-Encoding");
    if (plan.coding === undefined) return reply;
    if (body === null || body.byteLength < this.#minBytes) {
      const weak = weakTagOf(req, status, headers);
      if (weak !== undefined) headers.etag = weak;
      return reply;
    }
    const length = String(body.byteLength);
    const variant = variantOf(req, status, headers, plan.coding, length);
    const cached = variant.key === undefined
      ? undefined
      : this.#cache?.get(variant.key);
    if (cached !== undefined) return encodedReply(reply, cached, variant);
    return this.#encode(body, variant).then((bytes) =>
      encodedReply(reply, bytes, variant)
    );
  }

  /** `bytes` encoded as `variant` says, kept for reuse when it can be. */
  async #encode(
    bytes: Uint8Array | Pieces,
    variant: Variant,
  ): Promise<Uint8Array> {
    const body = await encode(bytes, variant.coding);
    if (variant.key !== undefined) this.#cache?.set(variant.key, body);
    return body;
  }

  async #compress(response: Response, variant: Variant): Promise<Response> {
    const read = await readUpTo(response.body!, this.#maxBufferedBytes);
    if (read.rest !== undefined) {
      return streamedResponse(response, read.rest, variant);
    }
    const bytes = concat(read.chunks, read.length);
    if (bytes.byteLength < this.#minBytes) {
      const sent = new Response(bytes as Uint8Array<ArrayBuffer>, response);
      if (variant.etag !== undefined) sent.headers.set("etag", variant.etag);
      return sent;
    }
    return encodedResponse(
      response,
      await this.#encode(bytes, variant),
      variant,
    );
  }
}
