/**
 * Durations the service counts while its wall clock steps (NTP, a VM
 * resumed, an operator's `date -s`): the service runs as a child process
 * under libfaketime, whose wall clock the test steps while the monotonic
 * clock runs on (`steppedClock`). Each window must last what it says:
 * `deno serve`'s shutdown grace, the time an upload's ending is kept for a
 * late subscriber, the time another instance's upload stays listed after
 * it was last heard of. Counted by `Date.now()`, a step forward cut each
 * short at once and a step back stretched each by the hour.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin, JOBS } from "./fixtures/deno_serve.ts";
import { steppedClock } from "./fixtures/libfaketime.ts";
import { startRedis } from "./fixtures/redis.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { nextEvent } from "./fixtures/sse.ts";
import { tempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import {
  CHUNK,
  newId,
  slowBody,
  subscribe,
  upload,
} from "./fixtures/upload_events.ts";
import {
  serveOnUpstream,
  untilEveryWorkerAnswers,
} from "./fixtures/upstream_service.ts";

/** The ids `GET /uploads` on `origin` lists. */
async function listed(origin: string): Promise<string[]> {
  const res = await fetch(`${origin}/uploads`);
  const { items } = await res.json() as { items: { id: string }[] };
  return items.map(({ id }) => id);
}

Deno.test("deno serve: the wall clock stepped an hour forward during the grace does not cut it: a GET the upstream answers within it gets 200", async () => {
  await using clock = await steppedClock();
  await using started = await serveOnUpstream({
    SHUTDOWN_GRACE_MS: "20000",
    ...clock.env,
  }, "serve_clock_step-");
  const { served, upstream, client } = started;
  await untilEveryWorkerAnswers(started, "/posts/2");
  upstream.setFault("/posts/1", { delayMs: 1_500 });
  const answer = fetch(`${served.url}/posts/1`, { client });
  await upstream.waitForRequests(1, "/posts/1");
  served.kill("SIGTERM");
  // Each worker's grace has begun (its deadline taken): the step comes
  // within it.
  await until(
    () =>
      served.records().filter((r) => r.msg === "shutdown.begin").length ===
        JOBS,
    "every worker's grace begun",
  );
  await clock.step("+1h");
  const res = await answer;
  // On main: 503, the upstream call ended at the step as past the grace.
  assert.equal(res.status, 200, await res.text());
  const status = await exitWithin(served, 15_000);
  assert.equal(status?.code, 0, served.output());
});

Deno.test("a subscriber coming after an upload failed gets failed, though the wall clock stepped an hour forward since", async () => {
  await using clock = await steppedClock();
  await using dir = await tempDir({ prefix: "clock_step_ending-" });
  await using service = await spawnService([
    "--data-dir",
    dir.path,
    "--upstream-url",
    "http://127.0.0.1:9",
    "--max-upload-bytes",
    String(4 * CHUNK),
  ], { env: clock.env });
  const id = newId();
  assert.equal(await upload(service.url, id, slowBody(8, 1)), 413);
  await clock.step("+1h");
  // On main: forgotten at the step (60 s old at once), the stream open
  // with nothing on it until the subscriber left.
  const events = await subscribe(service.url, id, 10_000);
  const ending = await nextEvent(events, (e) => e.event !== "");
  assert.equal(ending.event, "failed");
  assert.equal(JSON.parse(ending.data).outcome, "too_large");
  assert.equal((await events.next()).done, true, "the stream ends");
});

Deno.test("REDIS_URL: a stopped instance's upload leaves another's list once not heard of for 3 s, though that one's wall clock stepped an hour back", async () => {
  await using redis = await startRedis();
  await using clock = await steppedClock();
  await using dir = await tempDir({ prefix: "clock_step_relay-" });
  const args = [
    "--data-dir",
    dir.path,
    "--upstream-url",
    "http://127.0.0.1:9",
    "--redis-url",
    redis.url,
    "--redis-timeout-ms",
    "1000",
  ];
  await using a = await spawnService(args);
  await using b = await spawnService(args, { env: clock.env });
  const id = newId();
  // Cut by A's end: the body's stream is cancelled, the fetch fails.
  const uploading = upload(a.url, id, slowBody(100_000, 50)).catch(() => 0);
  await until(async () => (await listed(b.url)).includes(id), "B lists it");
  a.kill("SIGKILL");
  await a.status;
  await clock.step("-1h");
  // On main: listed for the hour (last heard of "an hour ahead").
  await until(
    async () => !(await listed(b.url)).includes(id),
    "B no longer lists it",
    15_000,
  );
  assert.equal(await uploading, 0);
});
