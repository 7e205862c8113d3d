/**
 * An error told with its causes, for the lines and problems that must say
 * why: Deno 2.9's fetch fails with "fetch failed" and keeps the reason (a
 * name that does not resolve, a connection refused or reset, a certificate
 * not trusted) one cause further down.
 *
 * @module
 */

/** `error`'s message followed by its causes' (five at most: a chain may loop). */
export function describe(error: unknown): string {
  const messages: string[] = [];
  for (let e = error; e !== undefined && messages.length < 5;) {
    messages.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return messages.join(": ");
}
