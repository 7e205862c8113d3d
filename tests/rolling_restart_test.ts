/**
 * A rolling restart behind real nginx, done as README (Deployment, Rolling
 * restarts) tells operators: each instance is marked `down` in the
 * `upstream` and nginx reloaded (its old workers gone) before the instance
 * gets SIGTERM, and marked up again once it listens anew. Writers keep
 * POSTing writes and uploads through nginx all along, and none may be
 * lost: every answer is 201 and nginx logs no failed upstream.
 *
 * SIGTERM alone is not enough: the instance must close its port some time,
 * and a connection nginx completed just before, its POST sent, is reset by
 * that close; nginx tries no POST elsewhere and answers 502 (README,
 * Shutdown, with the captures). The same writers and restarts without
 * marking the instance down got 0-9 writes answered 502 per run.
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
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const WRITERS = 16;

Deno.test("rolling restart behind nginx, each instance marked down first: no write lost", async () => {
  await using upstream = startFixtureUpstream();
  // Every request comes from nginx's address: no per-client upload cap.
  const env = {
    UPSTREAM_URL: upstream.url,
    MAX_UPLOADS_PER_CLIENT: "0",
    UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
  };
  await using cluster = await rollingCluster(env, "rolling_restart_test-");
  const { lb, ports } = cluster;
  const statuses = await rollUnderWriters(cluster, { writers: WRITERS });
  const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
  const created = (statuses.get("write 201") ?? 0) +
    (statuses.get("upload 201") ?? 0);
  assertAllCreated(statuses);
  assert.equal(created, answered);
  assert.ok(created >= 2 * WRITERS, `only ${created} writes`);
  assert.doesNotMatch(await lb.errorLog(), /\[error\].*upstream/);
  // Both restarted instances serve through nginx again.
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const res = await fetch(`${lb.url}/healthz`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    seen.add(res.headers.get("x-upstream") ?? "");
  }
  assert.deepEqual(
    [...seen].sort(),
    ports.map((p) => `127.0.0.1:${p}`).sort(),
  );
});
