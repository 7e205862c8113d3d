/**
 * Calls shed before they reach the upstream (the wait queue full) make one
 * throttled `upstream.shed` warning with their count, not an error line
 * each. Shedding is the upstream's bound working under a flood of misses:
 * 30 s of distinct keys against the real JSONPlaceholder (wrk -c200) shed
 * 67,766 requests and wrote 67,766 `request.failed` error lines beside
 * their access lines, and every stale hit whose background refresh was
 * shed a `cache.revalidate_failed` warning. Each request keeps its access
 * line (status 503); a 502 is still logged as `request.failed`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const SHED = 40;

Deno.test("a flood of shed misses logs one upstream.shed line, no error line per request", async () => {
  await using upstream = await startFixtureUpstream();
  await using served = await serveApp({
    args: [
      "--upstream-url",
      upstream.url,
      "--upstream-concurrency",
      "1",
      "--upstream-queue-limit",
      "0",
      // One client: with its share, its calls would be shed for that.
      "--upstream-client-share-percent",
      "100",
      "--upstream-retries",
      "0",
      "--cache-ttl-seconds",
      "1",
    ],
  });
  // A hot key, cached, then stale (refreshed in the background).
  await (await fetch(`${served.url}/posts/5`)).body?.cancel();
  await new Promise((resolve) => setTimeout(resolve, 1100));

  upstream.setFault("/posts/1", { delayMs: 1000 });
  const slow = fetch(`${served.url}/posts/1`);
  await upstream.waitForRequests(2);
  const shed = await Promise.all(
    Array.from({ length: SHED }, async (_, i) => {
      const res = await fetch(`${served.url}/posts/2?k=${i}`);
      await res.body?.cancel();
      return res.status;
    }),
  );
  assert.deepEqual(shed, Array(SHED).fill(503));
  // The hot key's stale copy is served while its refreshes are shed.
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${served.url}/posts/5`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
  }
  await (await slow).body?.cancel();

  const { records } = served;
  const lines = (msg: string) => records.filter((r) => r.msg === msg);
  assert.deepEqual(lines("request.failed"), []);
  assert.deepEqual(lines("cache.revalidate_failed"), []);
  const shedLines = lines("upstream.shed");
  assert.equal(shedLines.length, 1, JSON.stringify(shedLines));
  assert.equal(shedLines[0]!.level, "warn");
  assert.equal(shedLines[0]!.reason, "queue_full");
  // Every request still has its access line with its status.
  const refused = records.filter((r) =>
    r.msg === "request" && r.status === 503
  );
  assert.equal(refused.length, SHED);
});
