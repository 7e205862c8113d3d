/**
 * The one reading of a `Content-Length` field, by RFC 9110 section 8.6:
 * a decimal number, or the same number repeated as a list (`5, 5`: the
 * field sent twice, which `Headers` join into one value, or a list a
 * proxy combined). The runtime frames a body by such a list (it refuses
 * different numbers before a handler runs), so a reading that refused it
 * disagreed with the body actually read.
 *
 * ```ts ignore
 * contentLengthOf(new Headers({ "content-length": "5, 5" })); // 5
 * parseContentLength("5, 6"); // undefined
 * ```
 *
 * @module
 */

/** A list element: digits between optional spaces or tabs (OWS). */
const ELEMENT = /^[ \t]*(\d+)[ \t]*$/;

/**
 * The length a `Content-Length` value says, or `undefined` when it says
 * none (not digits, an empty element, or different numbers in a list).
 * Numbers are compared without their leading zeros, as the runtime reads
 * them. Absurd lengths stay absurd (over any cap) rather than lose
 * precision.
 */
export function parseContentLength(value: string): number | undefined {
  let digits: string | undefined;
  for (const element of value.split(",")) {
    const match = ELEMENT.exec(element);
    if (match === null) return undefined;
    const number = match[1]!.replace(/^0+(?=\d)/, "");
    if (digits !== undefined && number !== digits) return undefined;
    digits = number;
  }
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

/**
 * The `Content-Length` of `headers` by {@linkcode parseContentLength}, or
 * `undefined` when there is none or it says no length.
 */
export function contentLengthOf(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  return value === null ? undefined : parseContentLength(value);
}
