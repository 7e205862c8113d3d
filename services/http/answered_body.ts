/**
 * A request body left unread by its answer, cancelled once the answer has
 * had {@linkcode LINGER_MS} to reach the client. Deno 2.9.6 keeps a
 * connection, and the client's data unread in its socket, for as long as
 * a body it handed to the handler is neither read to its end nor
 * cancelled: the connection's serve loop has ended with the answer, so
 * only the garbage collector, dropping the body, let it go (Python
 * `requests`, which reads no answer before its body is sent, got its 400
 * 8-28 s late). And a body the handler never read the runtime takes back
 * once the answer is out, and reads to its end, however long: a client
 * still sending kept the connection, `Connection: close` said or not
 * (under `deno serve`, where no connection set closes it, for as long as
 * it sent: a 404 to a 300 MB upload came after all of it). A cancel then
 * does nothing (the body is the runtime's again); a reader taken before
 * the answer keeps it ours, and its cancel after the linger closes the
 * connection (the client has its answer, then a reset), or does nothing
 * when the body had ended (a small body sent whole: the connection stays
 * for the next request).
 *
 * {@linkcode letGoOnceAnswered} does it for every answer (routes/pipeline.ts)
 * whose body nothing holds; {@linkcode cancelledOnceAnswered} for a body
 * that may be refused part way (a write's, an upload's), whose readers
 * (the upload pipeline, the form parser, the decoder) then cancel it at
 * once.
 *
 * @module
 */

import {
  hasConnectionCloser,
  leftBodyUnread,
  LINGER_MS,
  refusingBody,
} from "./connection_close.ts";
import { cameOverHttp2 } from "./http2_request.ts";
import { readsNoBody } from "./methods.ts";
import { type IntoReader, intoReader } from "./into_reader.ts";
import { TrailerFloodError } from "./trailer_flood.ts";

// The bodies within their linger: each timer and the cancel it will call.
const lingering = new Map<number, () => Promise<unknown>>();
// The requests whose body cancelledOnceAnswered holds: neither at its end
// nor handed back to the runtime (see answeredWhileHeld).
const held = new WeakSet<Request>();

/** Calls `cancel` {@linkcode LINGER_MS} from now, errors dropped. */
function cancelLater(cancel: () => Promise<unknown>): void {
  // Typed as Node's Timeout once node: modules are loaded; a number here.
  const timer = setTimeout(() => {
    lingering.delete(timer);
    cancel().catch(() => {});
  }, LINGER_MS) as unknown as number;
  Deno.unrefTimer(timer);
  lingering.set(timer, cancel);
}

/**
 * Cancels now every body still within its linger: the app's close, after
 * which no answer is left to wait for. A timer and a body left past the
 * close outlived the app (the test sanitizers' "leaks").
 */
export async function letGoLingeringBodies(): Promise<void> {
  const cancels = [...lingering];
  lingering.clear();
  await Promise.all(cancels.map(([timer, cancel]) => {
    clearTimeout(timer);
    return cancel().catch(() => {});
  }));
}

/**
 * Lets go of a request body `reader` holds, {@linkcode LINGER_MS} after
 * `answered` settles: the reader, taken before the answer, keeps the body
 * ours (see the module doc), and the cancel comes once the answer had time
 * to reach the client. Nothing is read meanwhile: a read of a body still
 * arriving made the per-connection server (main.ts) close the connection
 * with the answer, 6 times in 10 for a raw client, so curl -T, still
 * sending, lost its 415 to the reset (2 of 30). A body that had ended is
 * not held by the cancel: the connection stays for the next request.
 */
function letGo(
  reader: Pick<IntoReader, "cancel">,
  answered: Promise<unknown>,
  reason?: unknown,
): void {
  const linger = () => cancelLater(() => reader.cancel(reason));
  answered.then(linger, linger);
}

/**
 * Lets go of `req`'s body {@linkcode LINGER_MS} after its answer when
 * nothing holds it (see the module doc): called with every answer,
 * `response`, just before it is handed to the runtime (after, `req.body`
 * throws), with the request's `method`; for a body
 * {@linkcode cancelledOnceAnswered} holds, {@linkcode answeredWhileHeld}
 * instead. A body being read, or read to its end (locked by its
 * reader), is its reader's to end; one of a method whose routes read none
 * (methods.ts `readsNoBody`: the runtime hands `GET` and `HEAD` none) only
 * when it announced a long one (connection_close.ts `leftBodyUnread`):
 * under `deno serve`, where no connection set closes the connection, the
 * runtime read a `DELETE`'s or `OPTIONS`'s endless body for as long as it
 * came (still open after 15 s), and a tiny one it discards itself, keeping
 * the connection; nor is one {@linkcode waitsOrResets}.
 * Only a request served by the runtime (`info`) has a connection to free:
 * a request built in the process has none.
 */
export function letGoOnceAnswered(
  req: Request,
  method: string,
  info: Deno.ServeHandlerInfo | undefined,
  response: Response,
): void {
  // A cached GET pays one comparison.
  if (method === "GET" || info === undefined) return;
  if (held.has(req)) return answeredWhileHeld(response);
  if (readsNoBody(method) && !leftBodyUnread(req)) return;
  if (waitsOrResets(req.headers)) return;
  const body = req.body;
  if (body === null || body.locked) return;
  letGo(body.getReader(), info.completed);
}

/**
 * Whether a body left unread is better left alone: an HTTP/2 stream's
 * the runtime resets itself, and one whose client waits for a
 * `100 Continue` (`Expect`) it has not sent yet: a read makes the runtime
 * send it, the client then sends its body after all, and curl -T lost the
 * 404 to the reset that followed (2 of 3). Refused without it, curl sends
 * no body.
 */
function waitsOrResets(headers: Headers): boolean {
  return cameOverHttp2(headers) || headers.has("expect");
}

/**
 * `req`'s body (`null` without one) as a stream whose cancel is put off as
 * {@linkcode letGo} does: a reader that refuses the body (too large, too
 * slow) cancels it just before the answer, and a body cancelled then the
 * runtime takes back and reads to its end, or closes the connection with
 * the answer (`deno serve`: a 413 to a 300 MB chunked write kept it for
 * all of it; a 413 to a flooded upload was followed by a reset at once).
 * The cancel settles a pending read at once, and frees the runtime's
 * frames of a body behind with tiny frames (frame_floor.ts) only after the
 * linger: cancelling those at once went through every frame with no turn
 * of the loop (no answer, no SIGTERM, for 20 s and more); LINGER_MS
 * later it took 5 ms. A byte stream, so a BYOB reader (an upload's) still
 * reads into its own views, with no copy; one more stream step per read.
 */
export function cancelledOnceAnswered(
  req: Request,
): ReadableStream<Uint8Array> | null {
  if (req.body === null) return null;
  const into = intoReader(req.body);
  held.add(req);
  // Handed back to the runtime now: it says no Connection: close of its own.
  const cancelNow = (reason: unknown) => {
    held.delete(req);
    into.cancel(reason).catch(() => {});
  };
  let cancelled = false;
  let reading = false;
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 65_536,
    async pull(controller) {
      // A "bytes" stream with autoAllocateChunkSize always has one.
      const request = controller.byobRequest!;
      reading = true;
      const { done, value } = await into.read(
        request.view as Uint8Array,
      ).catch((error: unknown) => {
        // Failed (`deno serve`'s shutdown cut it): the runtime has let
        // the body go, and adds no Connection: close of its own.
        held.delete(req);
        throw error;
      }).finally(() => reading = false);
      // Cancelled meanwhile: the view is no longer wanted.
      if (cancelled) return;
      if (done) {
        held.delete(req);
        controller.close();
      }
      if (value) request.respondWithNewView(value);
    },
    // Called with the refusal, just before the answer. A trailer section
    // that never ends (trailer_flood.ts) is cancelled at once: put off, the
    // runtime went on reading it, and its connection was never closed (a
    // 431 to POST /posts, the client waiting for the close: 8 min and on).
    cancel(reason) {
      cancelled = true;
      if (reason instanceof TrailerFloodError) return cancelNow(reason);
      // A read pending at the answer made main.ts's server close the
      // connection with it (a 408's slow client: 0 ms after): there the
      // body goes back to the runtime at once, as it did, and the
      // connection set closes the connection LINGER_MS after the answer.
      if (reading && hasConnectionCloser(req)) cancelNow(reason);
      else letGo(into, Promise.resolve(), reason);
    },
  });
}

/**
 * Leaves `Connection: close` on `response` to the runtime, the answer to a
 * request whose body {@linkcode cancelledOnceAnswered} holds: Deno 2.9.6
 * adds its own line to an answer given with the body neither read to its
 * end nor cancelled, so a refusal saying it too went out as
 * `Connection: close, close` (a stalled upload's 408). The answer is
 * marked as refusing the body instead (connection_close.ts
 * `refusingBody`), so that main.ts's connection set still closes the
 * connection once the client had time to read it.
 */
function answeredWhileHeld(response: Response): void {
  refusingBody(response);
  try {
    response.headers.delete("connection");
  } catch {
    // Immutable headers (Response.error()): none of ours to drop.
  }
}
