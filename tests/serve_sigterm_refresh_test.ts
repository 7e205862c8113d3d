/**
 * SIGTERM under `deno serve --parallel` while a background refresh
 * (stale-while-revalidate) waits on an upstream that does not answer.
 * The worker closed its app once no request was in flight, and the app's
 * close waited for the refresh until `UPSTREAM_TIMEOUT_MS`, far past
 * `SHUTDOWN_GRACE_MS`; the refresh now has what is left of the grace, and
 * its upstream call is ended then.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin } from "./fixtures/deno_serve.ts";
import { serveOnUpstream } from "./fixtures/upstream_service.ts";

Deno.test("deno serve --parallel: SIGTERM with a background refresh on a hung upstream exits within the grace, exit 0", async () => {
  await using started = await serveOnUpstream({
    UPSTREAM_TIMEOUT_MS: "30000",
    SHUTDOWN_GRACE_MS: "500",
    CACHE_TTL_SECONDS: "1",
  }, "serve_refresh-");
  const { served, upstream } = started;
  // One connection for both GETs (its body read whole, so it is kept):
  // they reach the same worker, and its cache. Over the pool of
  // waitUntilUp's client, the second went to the other worker now and
  // then, a miss that waited on the hung upstream.
  using one = Deno.createHttpClient({ poolMaxIdlePerHost: 1 });
  const first = await fetch(`${served.url}/posts/1`, { client: one });
  await first.text();
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  upstream.setFault("/posts/1", { delayMs: 60_000 });
  const stale = await fetch(`${served.url}/posts/1`, { client: one });
  await stale.text();
  assert.match(stale.headers.get("cache-status") ?? "", /revalidate/);
  await upstream.waitForRequests(2, "/posts/1");
  served.kill("SIGTERM");
  // Before, the worker ran on until the upstream timeout (30 s).
  const status = await exitWithin(served, 15_000);
  assert.equal(status?.code, 0, served.output());
});
