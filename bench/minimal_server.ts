/**
 * The baseline for the cached-GET benchmark: the smallest `Deno.serve` that
 * answers every request with one constant JSON body (given as the first
 * argument). It logs the same `listening` line as the service.
 *
 * @module
 */

import { announceListening } from "./listening.ts";

const body = new TextEncoder().encode(Deno.args[0] ?? '{"Hello":"World"}');
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: announceListening,
}, () =>
  new Response(body, {
    headers: { "content-type": "application/json; charset=utf-8" },
  }));
