/**
 * A request's way to close the connection it came on, for an answer whose
 * client has gone quiet mid-body (a download it reads nothing of). Over
 * HTTP/1.1 the body's error closes the connection by itself; over HTTP/2
 * the runtime looks at a stream's body only when the client's
 * flow-control window lets it send more, so a client holding its window
 * at 0 kept the stream, the chunk the runtime had buffered for it (~180 KB)
 * and its connection, which counts busy and so outlives every timer, for
 * ever. The server registers a closer for each request answered
 * asynchronously (`services/server/connection_set.ts`); a body that gives
 * up on its client calls it.
 *
 * @module
 */

const closers = new WeakMap<Request, () => void>();

/** Registers how `req`'s connection is closed. */
export function setConnectionCloser(req: Request, close: () => void): void {
  closers.set(req, close);
}

/**
 * Closes the connection `req` came on, every request on it included;
 * `false` when no server registered it (a test's plain `Deno.serve`).
 */
export function closeConnectionOf(req: Request): boolean {
  const close = closers.get(req);
  if (close === undefined) return false;
  closers.delete(req);
  close();
  return true;
}
