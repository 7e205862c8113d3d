/**
 * The nesting depth of a JSON text, found by one pass over its bytes (no
 * recursion, no parse): what a route checks before handing a body to a
 * peer whose serialiser recurses per level and fails past a few thousand.
 *
 * @example Usage
 * ```ts
 * import { jsonDepth } from "./json_depth.ts";
 *
 * jsonDepth(new TextEncoder().encode('{"a":[1,{"b":"[["}]}')); // 3
 * ```
 *
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The deepest nesting of arrays and objects in `bytes` (0 for a scalar),
 * brackets inside strings not counted. Meant for well-formed JSON; on
 * anything else the figure is the brackets' running count at its highest.
 */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > deepest) deepest = depth;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return deepest;
}
