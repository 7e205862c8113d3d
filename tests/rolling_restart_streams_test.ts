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
import { join } from "node:path";
import { startNginx } from "./fixtures/nginx.ts";
import { loadBalancerConfig } from "./fixtures/nginx_balancer.ts";
import { reloadNginx } from "./fixtures/nginx_reload.ts";
import { type Instance, report, startInstance } from "./fixtures/scale_out.ts";
import { serverSentEvents } from "./fixtures/sse.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const WRITERS = 8;
const WATCHERS = 6;
const UPLOAD = new Uint8Array(4096).fill(97);
const POST_BODY = JSON.stringify({ title: "t", body: "b", userId: 1 });
// What EventSource waits before reconnecting is the stream's `retry:`
// (2 s); shorter here, the test does not wait on it.
const RECONNECT_MS = 100;

/**
 * POSTs a write or a 4 KiB upload in turn until `stop`; counts statuses
 * (and errors, by message).
 */
async function write(
  url: string,
  stop: AbortSignal,
  statuses: Map<string, number>,
): Promise<void> {
  for (let i = 0; !stop.aborted; i++) {
    const upload = i % 2 === 0;
    let key = upload ? "upload" : "write";
    try {
      const res = upload
        ? await fetch(`${url}/files`, { method: "POST", body: UPLOAD })
        : await fetch(`${url}/posts`, {
          method: "POST",
          body: POST_BODY,
          headers: { "content-type": "application/json" },
        });
      await res.body?.cancel();
      key += ` ${res.status}`;
    } catch (error) {
      key += ` ${error}`;
    }
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
}

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
  const root = await Deno.makeTempDir({ prefix: "rolling_streams_test-" });
  // Every request comes from nginx's address: no per-client caps.
  const env = {
    UPSTREAM_URL: upstream.url,
    MAX_UPLOADS_PER_CLIENT: "0",
    MAX_UPLOAD_WATCHERS_PER_CLIENT: "0",
  };
  const instances: Instance[] = [];
  const stop = new AbortController();
  try {
    for (const name of ["a", "b"]) {
      instances.push(await startInstance(name, env, join(root, name)));
    }
    const ports = instances.map((instance) => instance.port);
    const down = new Set<number>();
    let confPath = "";
    let configOf = (): string => "";
    await using lb = await startNginx({}, (dir, port) => {
      confPath = join(dir, "nginx.conf");
      configOf = () =>
        loadBalancerConfig(dir, port, { upstreams: ports, down });
      return configOf();
    });
    const statuses = new Map<string, number>();
    const watched: Watched = { opened: new Map(), ended: 0, failures: [] };
    const watchers = Array.from(
      { length: WATCHERS },
      () => watch(lb.url, stop.signal, watched),
    );
    const writers = Array.from(
      { length: WRITERS },
      () => write(lb.url, stop.signal, statuses),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const [k, instance] of instances.entries()) {
      down.add(instance.port);
      await reloadNginx(lb.pid, confPath, configOf());
      instance.service.kill("SIGTERM");
      assert.equal((await instance.service.status).code, 0);
      instances[k] = await startInstance(
        instance.name,
        env,
        instance.dataDir,
        instance.port,
      );
      down.delete(instance.port);
      await reloadNginx(lb.pid, confPath, configOf());
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    stop.abort();
    await Promise.all([...writers, ...watchers]);

    report(
      `rolling restart, streams open: ${JSON.stringify([...statuses])}, ` +
        `streams ${JSON.stringify([...watched.opened])}, ` +
        `${watched.ended} ended by a stop`,
    );
    assert.deepEqual(
      Object.fromEntries(statuses),
      {
        "write 201": statuses.get("write 201"),
        "upload 201": statuses.get("upload 201"),
      },
      "every write and upload answered 201",
    );
    assert.deepEqual(watched.failures, []);
    // Each stopped instance ended the streams it held, which reconnected.
    assert.ok(watched.ended >= 1, JSON.stringify(watched));
    const opened = [...watched.opened.values()].reduce((a, b) => a + b, 0);
    assert.equal(opened, WATCHERS + watched.ended, JSON.stringify(watched));
    assert.doesNotMatch(await lb.errorLog(), /\[error\].*upstream/);
  } finally {
    stop.abort();
    for (const instance of instances) {
      await instance.service[Symbol.asyncDispose]();
    }
    await Deno.remove(root, { recursive: true });
  }
});
