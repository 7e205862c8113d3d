/**
 * SIGTERM under `deno serve --parallel` while a worker is still starting
 * (its app being built). A signal goes to the listeners there are when it
 * comes, and `deno serve` listens for a worker's only once the worker's
 * module has run: the worker still starting missed it, the others' taking
 * it kept the process from the signal's default end, and once started that
 * worker served on for good (2 of 6 signalled right after the first
 * answer). `serve.ts` now listens from the worker's first moment and, once
 * started, sends the signal again for `deno serve` to take.
 *
 * Which worker starts late is made certain by the S3 store: each worker's
 * start lists the bucket's unfinished uploads (the sweep), and a stand-in
 * for the bucket answers the first such request at once (503, the store
 * unavailable: the sweep fails, is logged, and the start goes on; a refusal
 * such as AccessDenied would stop the start) and holds the next one, so that
 * worker is still starting until the test lets it go.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin, signalTaken, waitUntilUp } from "./fixtures/deno_serve.ts";
import { until } from "./fixtures/until.ts";
import { startOnUpstream, storeStandIn } from "./fixtures/upstream_service.ts";

const UNAVAILABLE = '<?xml version="1.0" encoding="UTF-8"?>' +
  "<Error><Code>ServiceUnavailable</Code><Message>later</Message></Error>";

/** A bucket stand-in answering the first request, holding the others. */
function heldBucket() {
  const release = Promise.withResolvers<void>();
  let requests = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async () => {
      if (requests++ > 0) await release.promise;
      return new Response(UNAVAILABLE, {
        status: 503,
        headers: { "content-type": "application/xml" },
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    release: () => release.resolve(),
    async [Symbol.asyncDispose]() {
      release.resolve();
      await server.shutdown();
    },
  };
}

Deno.test("deno serve --parallel: SIGTERM while a worker is still starting ends the process (exit 0)", async () => {
  await using bucket = heldBucket();
  await using started = await startOnUpstream(
    storeStandIn(bucket.url),
    "serve_sigterm_start-",
  );
  const { served, client } = started;
  // One worker started and answers; the other waits for the bucket.
  await waitUntilUp(served, client);
  await until(() => bucket.requests() >= 2, "both workers asked", 20_000);
  // Both took it, the one still starting too, before its start goes on.
  await signalTaken(served, "SIGTERM");
  bucket.release();
  const status = await exitWithin(served, 15_000);
  assert.ok(
    status !== undefined,
    `still running 15 s after SIGTERM\n${served.output()}`,
  );
  assert.equal(status.code, 0, served.output());
});
