/**
 * A rolling restart behind real nginx while browsers watch uploads: event
 * streams (`GET /uploads/events`, what a dashboard or the upload page
 * holds) stay open through nginx all along, as writers keep POSTing
 * writes and uploads. Each instance is marked `down` and nginx reloaded,
 * then the instance gets SIGTERM (README, Rolling restarts behind nginx).
 *
 * README said to wait, between the two, until nginx's old workers had
 * exited. An event stream never ends by itself (its heartbeat keeps
 * `proxy_read_timeout` from ending it), and an old worker holding one, to
 * any instance, never exits: that wait never ended (old workers still ran
 * 30 s after the reload, with one `curl -N` open). What the wait is for is
 * that no old worker takes a new request: once the reload has taken
 * effect, every old worker says `worker process is shutting down` and
 * takes none, and what it still holds on the instance is the drain's to
 * finish. So the step waits for that; the streams end at the SIGTERM
 * (cleanly, a stream's end, not an error) and reconnect, through nginx,
 * to the other instance, and no write is lost.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  assertAllCreated,
  rollingCluster,
  rollUnderWriters,
  UPSTREAM_TIMEOUT_MS,
} from "./fixtures/rolling_restart.ts";
import { report } from "./fixtures/scale_out.ts";
import { serverSentEvents } from "./fixtures/sse.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const WRITERS = 8;
const WATCHERS = 6;
// What EventSource waits before reconnecting is the stream's `retry:`
// (2 s); shorter here, the test does not wait on it.
const RECONNECT_MS = 100;

/** What the watchers saw. */
interface Watched {
  /** Streams answered 200, by instance (`X-Upstream`). */
  opened: Map<string, number>;
  /** Streams that ended cleanly before the test stopped them. */
  ended: number;
  /** Anything else: a refusal, an error mid-stream. */
  failures: string[];
}

/**
 * Holds an event stream open through nginx until `stop`, as EventSource
 * does: when it ends, opens another.
 */
async function watch(
  url: string,
  stop: AbortSignal,
  watched: Watched,
): Promise<void> {
  while (!stop.aborted) {
    try {
      const res = await fetch(`${url}/uploads/events`, { signal: stop });
      if (res.status !== 200 || !res.body) {
        watched.failures.push(`${res.status} ${await res.text()}`);
        continue;
      }
      const upstream = res.headers.get("x-upstream") ?? "";
      watched.opened.set(upstream, (watched.opened.get(upstream) ?? 0) + 1);
      for await (const _ of serverSentEvents(res.body)) {
        // Progress of the writers' uploads, heartbeats: read and dropped.
      }
      watched.ended++;
    } catch (error) {
      if (stop.aborted) return;
      watched.failures.push(String(error));
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

Deno.test("rolling restart behind nginx with event streams open: the steps end, streams reconnect, no write lost", async () => {
  await using upstream = startFixtureUpstream();
  // Every request comes from nginx's address: no per-client caps.
  const env = {
    UPSTREAM_URL: upstream.url,
    MAX_UPLOADS_PER_CLIENT: "0",
    MAX_UPLOAD_WATCHERS_PER_CLIENT: "0",
    UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
  };
  // The streams keep old workers: each step waits until they shut down.
  await using cluster = await rollingCluster(env, "rolling_streams_test-", {
    oldWorkers: "shutting down",
  });
  const { lb } = cluster;
  const watched: Watched = { opened: new Map(), ended: 0, failures: [] };
  const statuses = await rollUnderWriters(cluster, {
    writers: WRITERS,
    alongside: (stop) =>
      Array.from({ length: WATCHERS }, () => watch(lb.url, stop, watched)),
  });

  report(
    `rolling restart, streams open: ${JSON.stringify([...statuses])}, ` +
      `streams ${JSON.stringify([...watched.opened])}, ` +
      `${watched.ended} ended by a stop`,
  );
  assertAllCreated(statuses);
  assert.deepEqual(watched.failures, []);
  // Each stopped instance ended the streams it held, which reconnected.
  assert.ok(watched.ended >= 1, JSON.stringify(watched));
  const opened = [...watched.opened.values()].reduce((a, b) => a + b, 0);
  assert.equal(opened, WATCHERS + watched.ended, JSON.stringify(watched));
  assert.doesNotMatch(await lb.errorLog(), /\[error\].*upstream/);
});
