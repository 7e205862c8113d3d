/**
 * `Connection: close` on an answer, both ways the connection set
 * (`connection_set.ts`) meets it: an answer that says it while a request
 * body may still arrive (the set then closes the connection once the
 * client had time to read it), and the answers of a drain, which say it
 * so that no connection is kept alive for another request.
 *
 * @module
 */

/**
 * Whether the answer to `req` carries `Connection: close` while a request
 * body may still arrive. Only a refusal says so (an upload refused or
 * stopped, always a 4xx or 5xx problem answer), so anything below 400 is
 * not looked at further; nor are `GET` and `HEAD` answers (the runtime
 * closes such a connection itself once the answer is out: no body holds
 * it open). Reading a `Response`'s headers makes the runtime drop the head
 * it prepared natively and serialise it again, and reading the method is
 * a call into the runtime: a cached answer pays for neither.
 */
export function saysCloseWithBody(req: Request, response: Response): boolean {
  if (response.status < 400) return false;
  if (req.method === "GET" || req.method === "HEAD") return false;
  const value = response.headers.get("connection");
  return value !== null && /(^|,)\s*close\s*(,|$)/i.test(value);
}

/** Sets `Connection: close` on `response` (a drain's answers). */
export function closeAfter(response: Response): void {
  try {
    response.headers.set("connection", "close");
  } catch {
    // Immutable headers (Response.error()): the connection is closed at
    // the shutdown's end instead.
  }
}
