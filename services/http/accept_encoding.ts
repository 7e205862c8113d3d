/**
 * `Accept-Encoding` (RFC 9110 12.5.3): which of the codings this service
 * sends, br or gzip, a client takes, and the same remembered per value for
 * the answer path.
 *
 * @example Usage
 * ```ts
 * import { negotiate } from "./accept_encoding.ts";
 *
 * negotiate("gzip, deflate, br"); // "br"
 * negotiate("br;q=0.5, gzip"); // "gzip"
 * negotiate("identity"); // undefined
 * ```
 *
 * @module
 */

import type { Coding } from "./encoders.ts";
import { memoByValue } from "./value_memo.ts";

/**
 * The coding to use for an `Accept-Encoding` value: `br` or `gzip`, the one
 * with the higher q-value (`br` on a tie), or `undefined` for identity.
 */
export function negotiate(acceptEncoding: string | null): Coding | undefined {
  if (acceptEncoding === null || acceptEncoding === "") return undefined;
  let br = -1;
  let gz = -1;
  let star = -1;
  for (const part of acceptEncoding.split(",")) {
    const [name = "", ...params] = part.split(";");
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=");
      if (key?.trim().toLowerCase() === "q") q = Number(value?.trim() ?? 1);
    }
    if (!(q >= 0 && q <= 1)) q = 0;
    const coding = name.trim().toLowerCase();
    if (coding === "br") br = q;
    else if (coding === "gzip" || coding === "x-gzip") gz = q;
    else if (coding === "*") star = q;
  }
  if (br < 0) br = star;
  if (gz < 0) gz = star;
  if (br <= 0 && gz <= 0) return undefined;
  return br >= gz ? "br" : "gzip";
}

// Per Accept-Encoding value, its coding: clients send a handful of values
// ("gzip, deflate, br, zstd"), and parsing one costs ~0.5 µs, once per
// answer to a client that takes a coding, 200 or 304.
const coding = memoByValue(negotiate);

/** {@linkcode negotiate}, remembered per value. */
export function codingOf(acceptEncoding: string | null): Coding | undefined {
  return acceptEncoding === null ? undefined : coding(acceptEncoding);
}
