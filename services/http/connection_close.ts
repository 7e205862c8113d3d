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

/**
 * How long a connection answered with `Connection: close` may stay open
 * for the client to read the answer, ms (services/server/answer_close.ts
 * `lingerThenClose`; and a body left unread by its answer, cancelled that
 * long after it, answered_body.ts).
 */
export const LINGER_MS = 2_000;

const closers = new WeakMap<Request, () => void>();

/** Registers how `req`'s connection is closed. */
export function setConnectionCloser(req: Request, close: () => void): void {
  closers.set(req, close);
}

/**
 * Whether a server of ours registered `req` (main.ts's connection set),
 * which closes its connection {@linkcode LINGER_MS} after an answer that
 * leaves its body unread; under `deno serve` none does.
 */
export function hasConnectionCloser(req: Request): boolean {
  return closers.has(req);
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

const bodyRefusals = new WeakSet<Response>();

/**
 * `response`, a refusal given before the request body was read, marked for
 * the server: if the body still arrives once the answer is out, the
 * connection is closed after the client has had time to read it
 * (`services/server/answer_close.ts`). It carries no `Connection: close`
 * of its own: the runtime adds one whenever the body has not all arrived
 * (ours made two lines), and when it has (a few bytes sent with the head)
 * the runtime discards it and rightly keeps the connection for the next
 * request.
 */
export function refusingBody(response: Response): Response {
  bodyRefusals.add(response);
  return response;
}

/** Whether `response` was marked by {@linkcode refusingBody}. */
export function refusesBody(response: Response): boolean {
  return bodyRefusals.has(response);
}

const unreadBodies = new WeakSet<Request>();

/**
 * Marks `req` as answered with a long body of it left unread (see
 * body_framing.ts `announcesLongBody`), whatever the answer's status: the
 * server closes its connection once the client has had time to read the
 * answer (`services/server/answer_close.ts`). The runtime says
 * `Connection: close` on such an answer, yet reads the body to its end
 * before it closes: a `GET` announcing 100 GB took ~1.5 GB/s of a core
 * until `KEEPALIVE_TIMEOUT_MS`.
 */
export function leavingBodyUnread(req: Request): void {
  unreadBodies.add(req);
}

/** Whether `req` was marked by {@linkcode leavingBodyUnread}. */
export function leftBodyUnread(req: Request): boolean {
  return unreadBodies.has(req);
}
