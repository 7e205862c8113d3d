/**
 * SIGTERM under `deno serve --parallel` while the workers are starting and
 * the S3 store does not answer. Each worker's start sweeps the bucket, and
 * a store that accepts the connection and says nothing holds that sweep
 * until `S3_TIMEOUT_MS`; the signal waited for the start
 * (`serve_sigterm_starting_test.ts`), so the process exited only then: 31 s
 * after SIGTERM with the default 30 s, 60 s with 60 s, where `docker stop`
 * and systemd kill after 10 s and 90 s. Now a start the signal interrupted
 * is given `SHUTDOWN_GRACE_MS` (and the 2 s for stopped answers), then the
 * process exits 0 with a `server.start_abandoned` line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin } from "./fixtures/deno_serve.ts";
import { until } from "./fixtures/until.ts";
import { startOnUpstream, storeStandIn } from "./fixtures/upstream_service.ts";

/** A store that takes connections and never answers on them. */
function silentStore() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // Closed.
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    connections: () => held.length,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of held) conn.close();
    },
  };
}

Deno.test("deno serve --parallel: SIGTERM while the start waits on a silent store exits within the grace, exit 0", async () => {
  await using store = silentStore();
  await using started = await startOnUpstream({
    ...storeStandIn(store.url),
    S3_TIMEOUT_MS: "60000",
    SHUTDOWN_GRACE_MS: "500",
  }, "serve_silent_store-");
  const { served } = started;
  // Both workers are in their start's sweep, waiting on the store.
  await until(() => store.connections() >= 2, "both workers asked", 20_000);
  served.kill("SIGTERM");
  const status = await exitWithin(served, 20_000);
  assert.ok(
    status !== undefined,
    `still running 20 s after SIGTERM\n${served.output()}`,
  );
  assert.equal(status.code, 0, served.output());
  assert.ok(
    served.records().some((r) => r.msg === "server.start_abandoned"),
    served.output(),
  );
});
