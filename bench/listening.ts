/**
 * The `listening` line of the bench's own peer servers (the minimal
 * `Deno.serve` and the `pipeTo` upload), in the service's form, which
 * `startServer` (lib.ts) waits for. Written straight to stdout: these
 * peers load no logger, so that they stay the smallest servers of their
 * kind.
 *
 * @module
 */

/** Prints `{"msg":"listening","url":"http://<hostname>:<port>"}`. */
export function announceListening({ hostname, port }: Deno.NetAddr): void {
  const line = JSON.stringify({
    msg: "listening",
    url: `http://${hostname}:${port}`,
  });
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}
