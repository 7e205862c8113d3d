/**
 * A PUT of bytes (a multipart upload's part, a metadata object) written
 * straight onto a connection of its own (`Deno.connect`, then
 * `Deno.startTls` for an `https://` store) rather than through `fetch`.
 * Deno 2.9's fetch copies a request body (the Request's copy of the bytes,
 * freed only when collected, and the runtime's send buffer): 64 parts of
 * 8 MiB, 4 at a time, to radosgw over https grew a process by ~170 MiB
 * over fetch and by ~13 MiB this way. The bytes go out from the caller's
 * buffer, with a `Content-Length` (S3 refuses chunked parts), after
 * `Expect: 100-continue`.
 *
 * Over TLS the connection trusts what fetch trusts: Mozilla's roots and
 * the PEM file named by `DENO_CERT` (read by the runtime: no read or env
 * permission needed). Not node:https, which carried no part to an
 * `https://` store (node:http carried them to `http://` ones): Deno 2.9's
 * node:https trusts neither `DENO_CERT` nor, under the start task's
 * permissions, any CA (it wants `--allow-sys` for the CA store), and its
 * `ca` option would need the file read by the code (`--allow-read` and
 * `--allow-env=DENO_CERT`, which the start task does not grant).
 *
 * ```ts ignore
 * const answer = await putBytes(url, signedHeaders, bytes, { signal });
 * answer.status; // 200
 * ```
 *
 * @module
 */

import { AnswerReader, type PutAnswer } from "./s3_put_answer.ts";

export type { PutAnswer } from "./s3_put_answer.ts";

/** How long to wait for 100 Continue before sending the bytes anyway. */
const CONTINUE_WAIT_MS = 1000;

/** Options of {@linkcode putBytes}. */
export interface PutBytesOptions {
  /** Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** PUTs `body` to `url` with `headers`; resolves the store's answer. */
export async function putBytes(
  url: URL,
  headers: Headers,
  body: Uint8Array,
  options: PutBytesOptions = {},
): Promise<PutAnswer> {
  const { signal } = options;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`Unsupported protocol: ${url.protocol}`);
  }
  signal?.throwIfAborted();
  // The length as given: bytes freed later read as 0 (see `exchange`).
  const length = body.byteLength;
  const head = requestHead(url, headers, length);
  let conn: Deno.Conn | undefined;
  // Aborting closes the connection: a read or write under way then fails,
  // and the signal's reason is what the caller gets.
  const close = () => {
    try {
      conn?.close();
    } catch {
      // closed already
    }
  };
  signal?.addEventListener("abort", close, { once: true });
  try {
    conn = await connect(url, signal);
    signal?.throwIfAborted();
    return await exchange(conn, { head, body, length });
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener("abort", close);
    close();
  }
}

/**
 * A connection to `url`'s host; over TLS, trusting what fetch trusts (the
 * runtime's roots and `DENO_CERT`). The TCP connect gives up with `signal`;
 * the handshake happens at the first write, which an abort ends by closing.
 */
async function connect(url: URL, signal?: AbortSignal): Promise<Deno.Conn> {
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const tls = url.protocol === "https:";
  const port = Number(url.port || (tls ? 443 : 80));
  // A signal of the connect's own, never aborted once connected: the
  // `signal` of Deno.connect closes the connection (its docs), which
  // startTls takes over; the caller's abort closes it through `putBytes`.
  const connecting = new AbortController();
  const stop = () => connecting.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname, port, signal: connecting.signal });
  } finally {
    signal?.removeEventListener("abort", stop);
  }
  if (!tls) return tcp;
  try {
    return await Deno.startTls(tcp, { hostname });
  } catch (error) {
    try {
      tcp.close();
    } catch {
      // taken over by startTls
    }
    throw error;
  }
}

/** The request line and fields: one connection per PUT, closed after. */
function requestHead(url: URL, headers: Headers, length: number): string {
  const lines = [
    `PUT ${url.pathname}${url.search} HTTP/1.1`,
    `host: ${url.host}`,
  ];
  headers.forEach((value, name) => {
    if (!/^(host|content-length|expect|connection)$/i.test(name)) {
      lines.push(`${name}: ${value}`);
    }
  });
  lines.push(
    `content-length: ${length}`,
    "expect: 100-continue",
    // An 8 MiB part dwarfs a handshake, and no idle socket outlives it.
    "connection: close",
  );
  return lines.join("\r\n") + "\r\n\r\n";
}

/**
 * Sends the head, then the bytes once the store said 100 Continue: a
 * refusal (over quota, bad credentials) then arrives as an answer instead
 * of a reset in the middle of 8 MiB. A store that ignores Expect gets them
 * after a second, as curl does.
 */
async function exchange(
  conn: Deno.Conn,
  request: { head: string; body: Uint8Array; length: number },
): Promise<PutAnswer> {
  const { head, body, length } = request;
  await writeAll(conn, new TextEncoder().encode(head));
  const reader = new AnswerReader(conn);
  let answer = await reader.head(CONTINUE_WAIT_MS);
  if (answer === undefined || answer.status === 100) {
    // Bytes the upload freed meanwhile (it failed elsewhere, and its
    // buffers were detached: the view's length went to 0) fail this PUT.
    if (body.byteLength !== length) {
      throw new TypeError("the part's bytes were freed");
    }
    await writeAll(conn, body);
    answer = await reader.head();
  }
  // Other interim answers (102, 103) come before the final one.
  while (answer!.status < 200) answer = await reader.head();
  const final = answer!;
  return { ...final, text: await reader.body(final) };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let sent = 0; sent < bytes.byteLength;) {
    sent += await conn.write(bytes.subarray(sent));
  }
}
