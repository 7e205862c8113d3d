/**
 * SIGTERM under `deno serve --parallel` while a download is still being
 * sent to a slow client. `deno serve` waits for every answer to be sent,
 * so `SHUTDOWN_GRACE_MS` did not bound a download: `curl --limit-rate 1M`
 * reading a 200 MB file held the process 3 min past a 2 s grace, until
 * the last byte. The worker now cuts the bodies still being sent when the
 * grace runs out, as `main.ts`'s exit does, and logs each with the bytes
 * sent and `"cut":"shutdown"`. (A client that reads nothing at all still
 * holds the process: the runtime waits to write into its full socket, and
 * has no way for the app to close a connection under `deno serve`.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin } from "./fixtures/deno_serve.ts";
import { until } from "./fixtures/until.ts";
import { serveOnUpstream } from "./fixtures/upstream_service.ts";
import { slowDownload } from "./fixtures/in_flight.ts";

const SIZE = 48 * 1024 * 1024;

Deno.test("deno serve --parallel: SIGTERM with a download read slowly exits after the grace, the download logged cut", async () => {
  await using started = await serveOnUpstream(
    {
      SHUTDOWN_GRACE_MS: "1000",
    },
    "serve_sigterm_dl-",
  );
  const { served, client } = started;
  const { path, received: download, sending } = await slowDownload(
    served.url,
    SIZE,
    client,
  );
  // The client has read the download's first bytes: it is being sent.
  await sending;
  served.kill("SIGTERM");
  // Before, it ran until the download ended, 38 s.
  const status = await exitWithin(served, 15_000);
  assert.equal(status?.code, 0, served.output());
  const received = await download;
  assert.ok(received < SIZE, `the client got ${received} of ${SIZE}`);
  // Its output is all read once the process has exited and its streams
  // ended.
  const find = () =>
    served.records().find((r) => r.msg === "request" && r.path === path);
  await until(() => find() !== undefined, "the download's line", 5_000);
  const line = find()!;
  assert.equal(line.cut, "shutdown");
  assert.ok((line.bytes as number) < SIZE, JSON.stringify(line));
});
