/**
 * The server of `http_server.ts` on a runtime without the per-connection
 * server it needs (`serve_connection.ts`): plain `Deno.serve` behind the
 * same {@linkcode GuardedServer} interface, without its protections
 * (connection cap, header and keep-alive timeouts, streams per
 * connection); `stopAccepting` does nothing.
 *
 * @module
 */

import type { GuardedServer, GuardedServerOptions } from "./http_server.ts";
import { ConnectionStats } from "./connection_stats.ts";
import { internalErrorAnswer } from "./internal_error.ts";

/** `Deno.serve` with the same interface, for runtimes without the internal. */
export function serveFallback(options: GuardedServerOptions): GuardedServer {
  const { hostname, port, handler, onListen, stats = new ConnectionStats() } =
    options;
  const server = Deno.serve({
    hostname,
    port,
    reusePort: options.reusePort ?? false,
    automaticCompression: false,
    onListen: (addr) => onListen?.(addr),
    onError: options.onError ?? internalErrorAnswer,
  }, handler);
  const shutdown = () => server.shutdown();
  return {
    addr: server.addr,
    stats,
    finished: server.finished,
    stopAccepting: () => Promise.resolve(),
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
