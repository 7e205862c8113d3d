/**
 * SIGTERM under `deno serve --parallel` while a GET waits on an upstream
 * that does not answer, with `SHUTDOWN_GRACE_MS` far below
 * `UPSTREAM_TIMEOUT_MS`. `deno serve` waits for the requests in flight
 * before it exits, so the process ran on until the upstream timeout (29 s
 * after the signal with 30 s and a 3 s grace; the client got 504 then):
 * the grace meant nothing. Past it, the worker now ends its upstream calls
 * as `main.ts` does: the request is answered 503 with `Retry-After` and
 * the process exits 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin } from "./fixtures/deno_serve.ts";
import {
  serveOnUpstream,
  untilEveryWorkerAnswers,
} from "./fixtures/upstream_service.ts";

Deno.test("deno serve --parallel: SIGTERM past the grace with a GET on a hung upstream answers it 503, exit 0", async () => {
  await using started = await serveOnUpstream({
    UPSTREAM_TIMEOUT_MS: "20000",
    SHUTDOWN_GRACE_MS: "500",
  }, "serve_upstream_wait-");
  const { served, upstream, client } = started;
  await untilEveryWorkerAnswers(started, "/posts/2");
  upstream.setFault("/posts/1", { delayMs: 60_000 });
  const answer = fetch(`${served.url}/posts/1`, { client });
  await upstream.waitForRequests(1, "/posts/1");
  served.kill("SIGTERM");
  const res = await answer;
  const text = await res.text();
  assert.equal(res.status, 503, text);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.match(JSON.parse(text).detail, /shutting down/);
  const status = await exitWithin(served, 15_000);
  assert.equal(status?.code, 0, served.output());
});
