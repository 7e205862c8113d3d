/**
 * Serves HTTP (1.1, and h2c with prior knowledge) on one accepted TCP
 * connection, with the same machinery as `Deno.serve`.
 *
 * `Deno.serve` owns its accept loop: it cannot cap connections, close one
 * that never sends a request, or survive `accept()` failing with "Too many
 * open files" (the rejection ends the process). `services/server/http_server.ts`
 * runs an accept loop of its own and hands each connection to the runtime's
 * `serveHttpOnConnection`, the function `Deno.serve` itself uses, which is
 * as fast (about the same requests per second) but internal. All access to
 * the internal lives here, behind a feature check: when a Deno version lacks
 * it, {@linkcode connectionServer} returns `undefined` and the caller falls
 * back to plain `Deno.serve`.
 *
 * @module
 */

/** Serves requests of one connection until it closes or `signal` aborts. */
export type ServeConnection = (
  conn: Deno.TcpConn,
  options: ServeConnectionOptions,
) => ServedConnection;

/** Options of a {@linkcode ServeConnection} call. */
export interface ServeConnectionOptions {
  /** Aborting it closes the connection at once. */
  signal: AbortSignal;
  /** Answers one request. */
  handler: Deno.ServeHandler<Deno.NetAddr>;
  /** Answers when `handler` throws. */
  onError: (error: unknown) => Response | Promise<Response>;
}

/** A connection being served. */
export interface ServedConnection {
  /** Settles once the connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Closes the connection once the requests in flight on it are answered
   * (idle keep-alive connections close at once).
   */
  shutdown(): Promise<void>;
}

type Internal = (
  conn: Deno.TcpConn,
  signal: AbortSignal,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: (scheme: string) => void,
) => ServedConnection;

function lookUpInternal(): Internal | undefined {
  try {
    const key = (Deno as unknown as { internal?: symbol }).internal;
    if (key === undefined) return undefined;
    const internals = (Deno as unknown as Record<symbol, unknown>)[key] as
      | Record<string, unknown>
      | undefined;
    const fn = internals?.serveHttpOnConnection;
    // Deno 2.x: (conn, signal, handler, onError, onListen).
    return typeof fn === "function" && fn.length === 5
      ? fn as Internal
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The runtime's per-connection server, or `undefined` when this Deno does
 * not have it in the expected shape.
 */
export function connectionServer(): ServeConnection | undefined {
  const internal = lookUpInternal();
  if (internal === undefined) return undefined;
  return (conn, { signal, handler, onError }) => {
    const served = internal(conn, signal, handler, onError, () => {});
    return {
      finished: served.finished,
      shutdown: () => served.shutdown(),
    };
  };
}
