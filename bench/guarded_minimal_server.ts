/**
 * `bench/minimal_server.ts` served through the service's connection layer
 * (`serveGuarded`: its accept loop and the runtime's per-connection server)
 * instead of `Deno.serve`: the same constant body, for
 * `bench/layer_batching.ts`.
 *
 * @module
 */

import { createLogger } from "../services/ops/logger.ts";
import { serveGuarded } from "../services/server/http_server.ts";

const body = new TextEncoder().encode(Deno.args[0] ?? '{"Hello":"World"}');
const logger = createLogger();
serveGuarded({
  hostname: "127.0.0.1",
  port: 0,
  logger,
  handler: () =>
    new Response(body, {
      headers: { "content-type": "application/json; charset=utf-8" },
    }),
  onListen: ({ hostname, port }) =>
    logger.info("listening", { url: `http://${hostname}:${port}` }),
});
