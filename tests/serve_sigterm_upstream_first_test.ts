/**
 * The two moments `serve.ts`'s `closeWhenIdle` ends the upstream calls, told
 * apart. Past `SHUTDOWN_GRACE_MS`, a request still waiting on a hung
 * upstream has its call ended at once (503 with `Retry-After`), and only
 * then, once it is answered, are the downloads still being sent cut: the
 * first moment. The second, after the background refreshes had what was
 * left of the grace (`serve_sigterm_refresh_test.ts`), ends them before the
 * app closes. Without the first, `serve_sigterm_upstream_wait_test.ts` still
 * passed: the second ended the call too, 2 s later (the time given to
 * stopped answers), after the downloads were cut. The order of the two
 * access-log lines, both written by the worker, tells which ran.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin } from "./fixtures/deno_serve.ts";
import { until } from "./fixtures/until.ts";
import { serveOnUpstream } from "./fixtures/upstream_service.ts";
import { slowDownload } from "./fixtures/in_flight.ts";

const SIZE = 16 * 1024 * 1024;

Deno.test("deno serve: past the grace, a GET on a hung upstream is answered 503 before the downloads are cut", async () => {
  await using started = await serveOnUpstream(
    {
      // One worker: the GET and the download are its both.
      DENO_JOBS: "1",
      UPSTREAM_TIMEOUT_MS: "20000",
      SHUTDOWN_GRACE_MS: "500",
    },
    "serve_upstream_first-",
  );
  const { served, upstream, client } = started;
  const { path, received: download } = await slowDownload(
    served.url,
    SIZE,
    client,
  );
  upstream.setFault("/posts/7", { delayMs: 60_000 });
  const answer = fetch(`${served.url}/posts/7`, { client });
  await upstream.waitForRequests(1, "/posts/7");
  served.kill("SIGTERM");
  const got = await answer;
  await got.body?.cancel();
  assert.equal(got.status, 503);
  assert.equal(got.headers.get("retry-after"), "1");
  const status = await exitWithin(served, 15_000);
  assert.equal(status?.code, 0, served.output());
  assert.ok(await download < SIZE, "the download was cut");
  const lines = () =>
    served.records().filter((r) =>
      r.msg === "request" && (r.path === path || r.path === "/posts/7")
    );
  await until(() => lines().length === 2, "both lines", 5_000);
  assert.deepEqual(
    lines().map((r) => [r.path, r.status, r.cut]),
    [["/posts/7", 503, undefined], [path, 200, "shutdown"]],
  );
});
