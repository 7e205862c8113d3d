/**
 * A PUT of bytes (a multipart upload's part, a metadata object) sent over
 * a connection of its own (`Deno.connect`, then `Deno.startTls` for an
 * `https://` store) rather than through `fetch`. Deno 2.9's fetch copies a
 * request body (the Request's copy of the bytes, freed only when
 * collected, and the runtime's send buffer): 64 parts of 8 MiB, 4 at a
 * time, to radosgw over https grew a process by ~170 MiB over fetch and by
 * ~13 MiB this way. The bytes go out from the caller's buffer, with a
 * `Content-Length` (S3 refuses chunked parts), after `Expect: 100-continue`.
 *
 * The HTTP/1.1 exchange itself (request head, `100 Continue` and other
 * interim answers, the answer's fields and its body framed by
 * `Content-Length`, chunked coding or the close) is node:http's client,
 * handed that connection through `createConnection`; nothing of HTTP is
 * parsed here.
 *
 * Over TLS the connection trusts what fetch trusts: Mozilla's roots and
 * the PEM file named by `DENO_CERT` (read by the runtime: no read or env
 * permission needed). Not node:https's own connection: Deno 2.9's
 * node:https trusts neither `DENO_CERT` ("self-signed certificate") nor,
 * under the start task's permissions, any CA (`NotCapable`: it wants
 * `--allow-sys` for the CA store), and its `ca` option would need the file
 * read by the code (`--allow-read` and `--allow-env=DENO_CERT`, which the
 * start task does not grant).
 *
 * Through the proxy fetch takes for the URL (`proxy_rules.ts`, from
 * `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`), when the caller passes it: to an
 * `https://` store a CONNECT tunnel (`proxy_tunnel.ts`) and TLS inside it,
 * to an `http://` one the request in absolute form; else the bytes went
 * straight to the store while every other call took the proxy.
 *
 * ```ts ignore
 * const answer = await putBytes(url, signedHeaders, bytes, { signal });
 * answer.status; // 200
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import http from "node:http";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { Proxy } from "./proxy_rules.ts";
import { openTunnel } from "./proxy_tunnel.ts";
import { writeAll } from "./write_all.ts";

/** How long to wait for 100 Continue before sending the bytes anyway. */
const CONTINUE_WAIT_MS = 1000;

/** Longest answer body kept: S3's error documents are small. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** What the store answered to a PUT of bytes. */
export interface PutAnswer {
  status: number;
  headers: Headers;
  /** The answer's body as text (S3's XML error document, if any). */
  text: string;
}

/** Options of {@linkcode putBytes}. */
export interface PutBytesOptions {
  /** Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The `http://` proxy to go through (`proxy_rules.ts`, the one fetch
   * takes for `url`); the other schemes are not spoken here.
   * @default {undefined} (straight to the store)
   */
  proxy?: Proxy;
}

/** PUTs `body` to `url` with `headers`; resolves the store's answer. */
export async function putBytes(
  url: URL,
  headers: Headers,
  body: Uint8Array,
  options: PutBytesOptions = {},
): Promise<PutAnswer> {
  const { signal, proxy } = options;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`Unsupported protocol: ${url.protocol}`);
  }
  if (proxy && proxy.scheme !== "http") {
    throw new TypeError(`Unsupported proxy scheme: ${proxy.scheme}`);
  }
  signal?.throwIfAborted();
  // The length as given: bytes freed later read as 0 (see `exchange`).
  const length = body.byteLength;
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
    conn = await connect(url, proxy, signal);
    signal?.throwIfAborted();
    // Through a proxy to an `http://` store the request names the whole
    // URL (absolute form) and carries the proxy's credentials, as fetch's.
    const forward = proxy && url.protocol === "http:" ? proxy : undefined;
    const request = requestOn(conn, url, headers, { length, forward });
    try {
      return await exchange(request, body, length);
    } finally {
      request.destroy();
    }
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener("abort", close);
    close();
  }
}

/**
 * A connection to `url`'s host, or to `proxy` (an `http://` one): over it,
 * for an `https://` store, a CONNECT tunnel (`proxy_tunnel.ts`); for an
 * `http://` one the request goes to the proxy in absolute form. Over TLS,
 * trusting what fetch trusts (the runtime's roots and `DENO_CERT`). The
 * TCP connect and the tunnel give up with `signal`; the handshake happens
 * at the first write, which an abort ends by closing.
 */
async function connect(
  url: URL,
  proxy: Proxy | undefined,
  signal?: AbortSignal,
): Promise<Deno.Conn> {
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
    tcp = await Deno.connect({
      hostname: proxy?.hostname ?? hostname,
      port: proxy?.port ?? port,
      signal: connecting.signal,
    });
  } finally {
    signal?.removeEventListener("abort", stop);
  }
  if (!tls) return tcp;
  try {
    if (proxy) {
      const authority = `${url.hostname}:${port}`;
      await openTunnel(tcp, authority, {
        proxy,
        ...(signal ? { signal } : {}),
      });
    }
    return await Deno.startTls(tcp, { hostname });
  } catch (error) {
    try {
      tcp.close();
    } catch {
      // taken over by startTls, or closed by the abort
    }
    throw error;
  }
}

/**
 * `conn` as the stream node:http's client reads and writes. A TLS peer
 * that closes without close_notify ends the stream (an answer framed by
 * the close is whole); other failures destroy it, which fails the request.
 */
function streamOf(conn: Deno.Conn): Duplex {
  return new Duplex({
    read() {
      const into = new Uint8Array(16 * 1024);
      conn.read(into).then(
        (n) => this.push(n === null ? null : into.subarray(0, n)),
        (error) => {
          if (error instanceof Deno.errors.UnexpectedEof) this.push(null);
          else this.destroy(error);
        },
      );
    },
    write(chunk: Uint8Array, _encoding, done) {
      // From the caller's buffer: a part's bytes are not copied.
      writeAll(conn, chunk).then(() => done(), done);
    },
  });
}

/** The PUT's request on `conn`: one connection per PUT, closed after. */
function requestOn(
  conn: Deno.Conn,
  url: URL,
  headers: Headers,
  how: { length: number; forward: Proxy | undefined },
): http.ClientRequest {
  const { length, forward } = how;
  const fields: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!/^(host|content-length|expect|connection)$/i.test(name)) {
      fields[name] = value;
    }
  });
  if (forward?.authorization) {
    fields["proxy-authorization"] = forward.authorization;
  }
  return http.request({
    method: "PUT",
    path: forward ? url.href : `${url.pathname}${url.search}`,
    headers: {
      ...fields,
      host: url.host,
      "content-length": String(length),
      expect: "100-continue",
      // An 8 MiB part dwarfs a handshake, and no idle socket outlives it.
      connection: "close",
    },
    createConnection: () => streamOf(conn) as Socket,
  });
}

/**
 * Sends the head, then the bytes once the store said 100 Continue: a
 * refusal (over quota, bad credentials) then arrives as an answer instead
 * of a reset in the middle of 8 MiB. A store that ignores Expect gets them
 * after a second, as curl does.
 */
async function exchange(
  request: http.ClientRequest,
  body: Uint8Array,
  length: number,
): Promise<PutAnswer> {
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once("response", resolve);
    // `on`, not `once`: a second failure must not go unhandled.
    request.on("error", reject);
  });
  request.flushHeaders();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let go!: () => void;
  const ready = new Promise<false>((resolve) => {
    go = () => resolve(false);
    request.once("continue", go);
    timer = setTimeout(go, CONTINUE_WAIT_MS);
  });
  // Whichever comes first: 100 Continue, the second, or a final answer.
  const early = await Promise.race([answered.then(() => true), ready])
    .finally(() => {
      clearTimeout(timer);
      request.off("continue", go);
    });
  if (!early) {
    // Bytes the upload freed meanwhile (it failed elsewhere, and its
    // buffers were detached: the view's length went to 0) fail this PUT.
    if (body.byteLength !== length) {
      throw new TypeError("the part's bytes were freed");
    }
    request.end(Buffer.from(body.buffer, body.byteOffset, length));
  }
  return await answerOf(await answered);
}

/** The answer's status, fields and body (as text, up to the kept bytes). */
async function answerOf(answer: http.IncomingMessage): Promise<PutAnswer> {
  const headers = new Headers();
  const raw = answer.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    headers.append(raw[i]!, raw[i + 1]!);
  }
  const kept: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of answer as AsyncIterable<Uint8Array>) {
    kept.push(chunk);
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) break; // the rest is not read
  }
  const bytes = Buffer.concat(kept).subarray(0, MAX_ANSWER_BYTES);
  return {
    status: answer.statusCode!,
    headers,
    text: new TextDecoder().decode(bytes),
  };
}
