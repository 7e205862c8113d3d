/**
 * The `Age` an upstream reports (RFC 9111 5.1), read the way a cache reads
 * it: the first member of a list, a non-negative integer, else nothing.
 *
 * @module
 */

/**
 * The largest delta-seconds a cache need represent; anything larger, or a
 * sum that overflows, counts as this (RFC 9111 1.2.2).
 */
export const MAX_DELTA_SECONDS = 2147483648;

/**
 * The seconds `value` (an `Age` field value) says, or `undefined` when it
 * is absent or invalid, which a cache ignores (RFC 9111 5.1). A list-based
 * value counts by its first member, as the RFC asks of a singleton field.
 */
export function parseAge(value: string | null): number | undefined {
  if (value === null) return undefined;
  const comma = value.indexOf(",");
  const first = (comma === -1 ? value : value.slice(0, comma)).trim();
  if (!/^\d+$/.test(first)) return undefined;
  return Math.min(Number(first), MAX_DELTA_SECONDS);
}
