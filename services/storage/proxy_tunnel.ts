/**
 * A tunnel through an HTTP proxy (`CONNECT host:port`, RFC 9110 9.3.6) on a
 * connection to it, as Deno's fetch opens one for an `https://` URL under
 * `HTTPS_PROXY`: the same request (`Host`, and `Proxy-Authorization` from
 * the proxy URL's userinfo), and only a 200 taken. A refusal (407 for the
 * credentials, 403 for a host it does not admit, 502 for a store it cannot
 * reach) is a {@linkcode StorageProxyError}: the store may be up, but
 * nothing reaches it this way until the proxy or its settings change, so
 * the part is not sent again over fetch, which takes the same proxy.
 *
 * ```ts ignore
 * const tcp = await Deno.connect({ hostname: proxy.hostname, port: proxy.port });
 * await openTunnel(tcp, "s3.example.com:443", { proxy });
 * const tls = await Deno.startTls(tcp, { hostname: "s3.example.com" });
 * ```
 *
 * @module
 */

import type { Proxy } from "./proxy_rules.ts";
import { StorageUnavailableError } from "./storage.ts";
import { writeAll } from "./write_all.ts";

/** Longest answer head taken from the proxy (fetch's bound too). */
const MAX_HEAD_BYTES = 8192;

/** The proxy refused, or broke off, the tunnel to the store. */
export class StorageProxyError extends StorageUnavailableError {
  /** The proxy's status; `undefined` when it answered none. */
  readonly status: number | undefined;
  /** Creates the error. */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "StorageProxyError";
    this.status = status;
  }
}

/** Options of {@linkcode openTunnel}. */
export interface OpenTunnelOptions {
  /** The proxy `conn` goes to (its credentials, its name in messages). */
  proxy: Proxy;
  /** Closing `conn` is how an abort ends a wait for the proxy. */
  signal?: AbortSignal;
}

/**
 * Asks the proxy on `conn` for a tunnel to `authority` (`host:port`, an
 * IPv6 host in brackets); resolves once it answered 200, after which
 * `conn` carries bytes to and from the store.
 *
 * @throws {StorageProxyError} when the proxy answers anything else, or
 * closes before its answer ends.
 */
export async function openTunnel(
  conn: Deno.Conn,
  authority: string,
  options: OpenTunnelOptions,
): Promise<void> {
  const { proxy, signal } = options;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.authorization) {
    lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  }
  const close = () => conn.close();
  signal?.addEventListener("abort", close, { once: true });
  try {
    await writeAll(
      conn,
      new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n`),
    );
    const head = await readHead(conn, proxy);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (status !== 200) {
      const line = head.slice(0, head.indexOf("\r\n")).slice(0, 200);
      throw new StorageProxyError(
        `The proxy ${proxy.shown} refused the tunnel to the object store` +
          ` (CONNECT ${authority}): ${line || "no status line"}`,
        Number.isNaN(status) ? undefined : status,
      );
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", close);
  }
}

/**
 * The proxy's answer head, up to its blank line. Nothing follows it: the
 * store speaks only after the TLS client's first message.
 */
async function readHead(conn: Deno.Conn, proxy: Proxy): Promise<string> {
  const buffer = new Uint8Array(MAX_HEAD_BYTES);
  let size = 0;
  while (size < buffer.length) {
    const n = await conn.read(buffer.subarray(size));
    if (n === null) {
      throw new StorageProxyError(
        `The proxy ${proxy.shown} closed the connection before answering CONNECT`,
      );
    }
    size += n;
    const head = new TextDecoder().decode(buffer.subarray(0, size));
    const end = head.indexOf("\r\n\r\n");
    if (end >= 0) return head.slice(0, end);
  }
  throw new StorageProxyError(
    `The proxy ${proxy.shown} answered CONNECT with a head over ${MAX_HEAD_BYTES} bytes`,
  );
}
