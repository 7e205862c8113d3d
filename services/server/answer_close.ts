/**
 * `Connection: close` on an answer, both ways the connection set
 * (`connection_set.ts`) meets it: an answer that says it while a request
 * body may still arrive, or that leaves a long body unread (the set then
 * closes the connection once the client had time to read it), and the
 * answers of a drain, which say it so that no connection is kept alive for
 * another request.
 *
 * @module
 */

import {
  leftBodyUnread,
  LINGER_MS,
  refusesBody,
} from "../http/connection_close.ts";
import { cameOverHttp2 } from "../http/http2_request.ts";
import type { Tracked } from "./tracked.ts";

/**
 * Whether the answer to `req` carries `Connection: close` while a request
 * body may still arrive, or refuses it unread. A request answered with a
 * long body of it unread (marked by routes/pipeline.ts, any status: a
 * `GET`, `HEAD`, `DELETE` or `OPTIONS` announcing one) is one.
 * Otherwise only a refusal is (an upload refused or stopped, a write or
 * route refused before its body, always a 4xx or 5xx problem answer), so
 * anything else below 400 is not looked at further; nor are `GET` and
 * `HEAD` answers past that mark. Reading a `Response`'s headers makes the
 * runtime drop the head it prepared natively and serialise it again, and
 * reading the method is a call into the runtime: a cached answer pays for
 * neither, only a `WeakSet` lookup. Never an HTTP/2 request: Connection:
 * close means nothing there, the runtime resets a stream whose body is
 * left unread itself, and closing the connection took every other stream
 * on it (a GET announcing a body over h2c: closed 2 s later, no GOAWAY).
 */
export function saysCloseWithBody(req: Request, response: Response): boolean {
  if (leftBodyUnread(req)) return !cameOverHttp2(req.headers);
  if (response.status < 400) return false;
  if (req.method === "GET" || req.method === "HEAD") return false;
  if (cameOverHttp2(req.headers)) return false;
  if (refusesBody(response)) return true;
  // Any other refusal that left the body unread (a 404 or 405 of the
  // router, a write's 415 or 501): the runtime holds such a connection
  // while the body drips in, up to KEEPALIVE_TIMEOUT_MS after the answer
  // (slowhttptest -B -c 1000 against POST /posts kept all 1000 for 75 s).
  if (req.body !== null && !req.bodyUsed) return true;
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

/**
 * The runtime keeps a connection open while an unread request body still
 * arrives, Connection: close or not (it waits for the body's end), so a
 * refused or stopped upload's client could hold it for ever by sending
 * slowly. As nginx's lingering close: give the client LINGER_MS after the
 * answer to read it (closing at once, with its data still arriving, would
 * reset the connection and could lose the answer), then `close` it.
 */
export function lingerThenClose(
  tracked: Tracked,
  info: Deno.ServeHandlerInfo,
  close: () => void,
): void {
  const requests = tracked.requests;
  // Only a connection stuck on that answer: one kept alive that took
  // another request since is left alone. (An HTTP/2 connection never
  // comes here: saysCloseWithBody.)
  const stuck = () => tracked.active === 0 && tracked.requests === requests;
  const linger = () => {
    const timer = setTimeout(() => {
      if (stuck()) close();
    }, LINGER_MS);
    Deno.unrefTimer(timer);
    // Not finally(): `finished` rejects when the connection fails (a
    // client resetting it after a refused upload), and the promise
    // finally() returns would carry that on as an unhandled rejection,
    // logged as an error for the client's doing.
    const clear = () => clearTimeout(timer);
    tracked.served?.finished.then(clear, clear);
  };
  info.completed.then(linger, linger);
}
