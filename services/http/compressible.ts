/**
 * Which answers the compressor of `compression.ts` may compress, by their
 * head: a compressible media type (text, JSON, XML, JavaScript, SVG, form
 * data, WebAssembly), and no `Cache-Control: no-transform`. Both tests run
 * on every answer, so each is memoised by header value.
 *
 * @module
 */

import { memoByValue } from "./value_memo.ts";

// text/*, JSON and XML (with structured-syntax suffixes), JavaScript, SVG,
// form data, WebAssembly: the compressible types of mime-db that matter.
const COMPRESSIBLE =
  /^(?:text\/|application\/(?:[\w.+-]*\+)?(?:json|xml)\b|application\/(?:javascript|ecmascript|x-javascript|wasm|x-www-form-urlencoded)\b|image\/svg\+xml\b)/i;

// Per Content-Type value: the test runs on every answer (a few hundred ns
// of a cached GET's budget).
const compressible = memoByValue((contentType) =>
  COMPRESSIBLE.test(contentType.trimStart())
);

/** Whether a `Content-Type` value names a compressible media type. */
export function isCompressible(contentType: string | null): boolean {
  return contentType !== null && compressible(contentType);
}

const NO_TRANSFORM = /\bno-transform\b/i;
const noTransform = memoByValue((cacheControl) =>
  NO_TRANSFORM.test(cacheControl)
);

/** Whether a `Cache-Control` value says `no-transform`. */
export function saysNoTransform(cacheControl: string | null): boolean {
  return cacheControl !== null && noTransform(cacheControl);
}
