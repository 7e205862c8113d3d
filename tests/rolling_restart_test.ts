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
import { join } from "node:path";
import { startNginx } from "./fixtures/nginx.ts";
import { loadBalancerConfig } from "./fixtures/nginx_balancer.ts";
import { reloadNginx } from "./fixtures/nginx_reload.ts";
import { type Instance, startInstance } from "./fixtures/scale_out.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const WRITERS = 16;
const UPLOAD = new Uint8Array(4096).fill(97);
const POST_BODY = JSON.stringify({ title: "t", body: "b", userId: 1 });

/** POSTs a write or a 4 KiB upload in turn until `stop`; counts statuses. */
async function write(
  url: string,
  stop: AbortSignal,
  statuses: Map<string, number>,
): Promise<void> {
  for (let i = 0; !stop.aborted; i++) {
    const upload = i % 2 === 0;
    const res = upload
      ? await fetch(`${url}/files`, { method: "POST", body: UPLOAD })
      : await fetch(`${url}/posts`, {
        method: "POST",
        body: POST_BODY,
        headers: { "content-type": "application/json" },
      });
    await res.body?.cancel();
    const key = `${upload ? "upload" : "write"} ${res.status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
}

Deno.test("rolling restart behind nginx, each instance marked down first: no write lost", async () => {
  await using upstream = startFixtureUpstream();
  const root = await Deno.makeTempDir({ prefix: "rolling_restart_test-" });
  // Every request comes from nginx's address: no per-client upload cap.
  const env = { UPSTREAM_URL: upstream.url, MAX_UPLOADS_PER_CLIENT: "0" };
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
    await Promise.all(writers);

    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    const created = (statuses.get("write 201") ?? 0) +
      (statuses.get("upload 201") ?? 0);
    assert.deepEqual(
      Object.fromEntries(statuses),
      {
        "write 201": statuses.get("write 201"),
        "upload 201": statuses.get("upload 201"),
      },
      "every write and upload answered 201",
    );
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
  } finally {
    stop.abort();
    for (const instance of instances) {
      await instance.service[Symbol.asyncDispose]();
    }
    await Deno.remove(root, { recursive: true });
  }
});
