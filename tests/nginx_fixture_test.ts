/**
 * Tests of the nginx test fixture: a real nginx spreads requests over
 * several loopback servers in turn, streams an upload through, moves on
 * when one is down, and caches as a proxy_cache peer (one origin request
 * for many concurrent misses).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startCachingProxy } from "./fixtures/nginx.ts";
import { startLoadBalancer } from "./fixtures/nginx_balancer.ts";

/** A loopback server answering its name and counting what it got. */
function named(name: string) {
  let hits = 0;
  let bodyBytes = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      hits++;
      if (req.body) {
        for await (const chunk of req.body) bodyBytes += chunk.byteLength;
      }
      // The proxy cache test needs slow misses to pile up behind the lock.
      if (new URL(req.url).pathname === "/slow") {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return new Response(name, {
        headers: { "cache-control": "no-store" },
      });
    },
  );
  return {
    server,
    port: server.addr.port,
    hits: () => hits,
    bodyBytes: () => bodyBytes,
  };
}

Deno.test("startLoadBalancer: round-robin over the instances, uploads streamed, a dead one skipped", async () => {
  const instances = ["a", "b", "c"].map(named);
  try {
    await using lb = await startLoadBalancer({
      upstreams: instances.map((i) => i.port),
    });
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await fetch(`${lb.url}/who`);
      assert.equal(res.status, 200);
      assert.ok(res.headers.get("x-upstream")?.startsWith("127.0.0.1:"));
      seen.push(await res.text());
    }
    assert.deepEqual(seen.toSorted(), [
      "a",
      "a",
      "a",
      "b",
      "b",
      "b",
      "c",
      "c",
      "c",
    ]);
    assert.deepEqual(instances.map((i) => i.hits()), [3, 3, 3]);

    // 8 MiB streamed through (nginx's default would refuse over 1 MiB).
    const size = 8 * 1024 * 1024;
    const res = await fetch(`${lb.url}/upload`, {
      method: "POST",
      body: new Uint8Array(size),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(instances.reduce((n, i) => n + i.bodyBytes(), 0), size);

    // One instance gone: every request still answered by the others.
    await instances[0]!.server.shutdown();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${lb.url}/who`);
      assert.equal(res.status, 200);
      assert.notEqual(await res.text(), "a");
    }
  } finally {
    for (const i of instances) await i.server.shutdown();
  }
});

Deno.test("startCachingProxy: concurrent misses make one origin request, then hits", async () => {
  const origin = named("origin");
  try {
    await using proxy = await startCachingProxy({ upstream: origin.port });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${proxy.url}/slow`)),
    );
    for (const res of answers) {
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "origin");
    }
    assert.equal(origin.hits(), 1);
    const again = await fetch(`${proxy.url}/slow`);
    assert.equal(again.headers.get("x-cache-status"), "HIT");
    await again.body?.cancel();
    assert.equal(origin.hits(), 1);
  } finally {
    await origin.server.shutdown();
  }
});

/** The worker processes of nginx master `pid`, from /proc. */
async function workersOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // The parent pid is the second field after the ")" of the name.
      const parent = Number(
        stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1],
      );
      const title = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      // Besides workers, a proxy cache has a cache manager and loader.
      if (parent === pid && title.includes("worker process")) {
        children.push(Number(entry.name));
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

Deno.test("startCachingProxy: workers sets the worker count, accessLog logs each request", async () => {
  const origin = named("origin");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o777);
    const accessLog = `${dir}/access.log`;
    const proxy = await startCachingProxy({
      upstream: origin.port,
      workers: 2,
      accessLog,
    });
    try {
      // The master listens before it forks its workers: wait for them.
      let workers = await workersOf(proxy.pid);
      for (let i = 0; i < 100 && workers.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        workers = await workersOf(proxy.pid);
      }
      assert.equal(workers.length, 2);
      const res = await fetch(`${proxy.url}/posts/1`);
      assert.equal(await res.text(), "origin");
    } finally {
      await proxy[Symbol.asyncDispose]();
    }
    // Stopping flushes the buffered log.
    assert.match(
      await Deno.readTextFile(accessLog),
      /"GET \/posts\/1 HTTP\/1\.1" 200 /,
    );
    await assert.rejects(
      startCachingProxy({ upstream: origin.port, workers: 0 }),
      RangeError,
    );
  } finally {
    await origin.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nginx fixtures fail with what to install when the binary is missing", async () => {
  await assert.rejects(
    startLoadBalancer({ upstreams: [1], binary: "nginx-that-does-not-exist" }),
    /apt-get install .*nginx-light/,
  );
  assert.throws(() => startLoadBalancer({ upstreams: [] }), TypeError);
  assert.throws(
    () => startCachingProxy({ upstream: 1, validSeconds: 0 }),
    RangeError,
  );
});
