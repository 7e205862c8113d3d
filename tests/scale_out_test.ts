/**
 * Several instances as one service, on real engines started on free
 * loopback ports: `redis-server`, a single-node Ceph radosgw, three
 * instances of the service as child processes (each its own `DATA_DIR`,
 * sharing `REDIS_URL` and the bucket) and Debian nginx as the round-robin
 * load balancer in front, set up as deploy/nginx.conf is (uploads streamed,
 * no body size limit). What one instance stores, the others list, range
 * and delete; concurrent misses over all three make one upstream request;
 * an instance killed mid-upload leaves nothing visible and the others keep
 * serving; Redis stopped is never a user error, and sharing resumes once it
 * is back. Under `CI=true` a missing engine fails the test (the fixtures
 * throw, naming the package); elsewhere a missing Ceph ignores it.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { scrapeSample } from "./fixtures/exposition.ts";
import { startLoadBalancer } from "./fixtures/nginx_balancer.ts";
import { startRedis } from "./fixtures/redis.ts";
import { bytesOf, cephTest, sha256Hex } from "./fixtures/s3_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";
import {
  call,
  filesBelow,
  type Instance,
  partsOf,
  report,
  startInstance,
  uploadIdOf,
} from "./fixtures/scale_out.ts";

const MiB = 1024 * 1024;

cephTest(
  "scale out: 3 instances behind nginx on real Redis and Ceph behave as one service",
  async () => {
    await using ceph = await sharedCeph();
    await using redis = await startRedis();
    await using upstream = startFixtureUpstream();
    const env = {
      ...ceph.env,
      S3_PART_BYTES: String(5 * MiB),
      REDIS_URL: redis.url,
      // Generous: a slow answer is a miss by design, which would make an
      // instance load by itself (correct, but not what is counted here).
      REDIS_TIMEOUT_MS: "3000",
      UPSTREAM_URL: upstream.url,
    };
    const root = await Deno.makeTempDir({ prefix: "async-api-scale-" });
    const instances: Instance[] = [];
    try {
      instances.push(
        ...await Promise.all(
          ["a", "b", "c"].map(async (name) => {
            const dir = `${root}/${name}`;
            await Deno.mkdir(dir);
            return await startInstance(name, env, dir);
          }),
        ),
      );
      await using lb = await startLoadBalancer({
        upstreams: instances.map((i) => i.port),
      });
      for (const instance of instances) {
        await until(
          async () => await scrapeSample(instance.url, "cache_redis_up") === 1,
          `${instance.name} connected to Redis`,
        );
      }
      await sharedFiles(ceph, instances, lb.url);
      await stampede(upstream, instances, lb.url);
      await redisOutage(redis, upstream, instances, lb.url);
      await killedMidUpload(ceph, env, instances, lb.url);
    } finally {
      for (const instance of instances) {
        await instance.service[Symbol.asyncDispose]();
      }
      await Deno.remove(root, { recursive: true });
    }
  },
);

/** An upload through A is listed, ranged and deleted through B and C. */
async function sharedFiles(
  ceph: Ceph,
  [a, b, c]: Instance[],
  lbUrl: string,
): Promise<void> {
  const body = bytesOf(6 * MiB + 7, 1);
  const res = await fetch(`${a!.url}/files`, { method: "POST", body });
  assert.equal(res.status, 201, await res.clone().text());
  const created = await res.json();
  assert.equal(created.sha256, sha256Hex(body));

  const listed = await (await fetch(`${b!.url}/files`)).json();
  assert.deepEqual(listed.items.map((f: { id: string }) => f.id), [created.id]);
  // Across the boundary of the first two parts.
  const start = 5 * MiB - 10;
  const ranged = await fetch(`${c!.url}/files/${created.id}`, {
    headers: { range: `bytes=${start}-${start + 19}` },
  });
  assert.equal(ranged.status, 206);
  assert.equal(
    ranged.headers.get("content-range"),
    `bytes ${start}-${start + 19}/${body.byteLength}`,
  );
  assert.deepEqual(
    new Uint8Array(await ranged.arrayBuffer()),
    body.subarray(start, start + 20),
  );
  const whole = await fetch(`${b!.url}/files/${created.id}`);
  assert.equal(whole.headers.get("etag"), `"${created.sha256}"`);
  assert.equal(
    sha256Hex(new Uint8Array(await whole.arrayBuffer())),
    created.sha256,
  );
  const removed = await call(`${c!.url}/files/${created.id}`, {
    method: "DELETE",
  });
  assert.equal(removed.status, 204);
  for (const instance of [a!, b!, c!]) {
    const gone = await call(`${instance.url}/files/${created.id}`);
    assert.equal(gone.status, 404, `${instance.name} after the delete`);
  }

  // Through nginx: whichever instance takes it, every instance serves it.
  const small = bytesOf(100_000, 2);
  const viaLb = await fetch(`${lbUrl}/files`, { method: "POST", body: small });
  assert.equal(viaLb.status, 201);
  const { id } = await viaLb.json();
  for (const instance of [a!, b!, c!]) {
    const got = await fetch(`${instance.url}/files/${id}`);
    assert.equal(got.status, 200, instance.name);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), small);
  }
  assert.equal(
    (await call(`${lbUrl}/files/${id}`, { method: "DELETE" })).status,
    204,
  );
  assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
}

/** 100 concurrent cold misses through nginx over the three: 1 request. */
async function stampede(
  upstream: ReturnType<typeof startFixtureUpstream>,
  instances: Instance[],
  lbUrl: string,
): Promise<void> {
  // The one load is held at the upstream until every miss has arrived and
  // waits on it (rather than an upstream slow enough that they probably
  // did): then a single upstream request is single flight, not luck.
  const release = Promise.withResolvers<void>();
  upstream.setFault("/posts/7", { hold: release.promise });
  const servedBy = new Set<string>();
  const answering = Promise.all(
    Array.from({ length: 100 }, async () => {
      const res = await fetch(`${lbUrl}/posts/7`);
      const body = await res.json();
      servedBy.add(res.headers.get("x-upstream") ?? "");
      return res.status === 200 && body.id === 7;
    }),
  );
  try {
    await until(
      async () => await inFlightMisses(instances) === 100,
      "the 100 misses in flight on the instances",
    );
  } finally {
    release.resolve();
  }
  const answers = await answering;
  upstream.clearFaults();
  assert.ok(answers.every(Boolean), "every answer is post 7");
  assert.deepEqual(
    [...servedBy].sort(),
    instances.map((i) => `127.0.0.1:${i.port}`).sort(),
    "the misses were spread over the three instances",
  );
  assert.equal(upstream.hits("/posts/7"), 1);
  report(
    "scale out stampede: 100 misses in flight at once over 3 instances, " +
      "1 upstream request",
  );
}

/**
 * The requests in flight on the instances, less each one's own `/metrics`
 * request that counts them.
 */
async function inFlightMisses(instances: Instance[]): Promise<number> {
  const counts = await Promise.all(
    instances.map((i) => scrapeSample(i.url, "http_requests_in_flight")),
  );
  return counts.reduce((sum, n) => sum + n - 1, 0);
}

/**
 * Redis stopped mid-run: every GET 200 (fresh keys too), `cache_redis_up 0`,
 * `/readyz` 200; started again on the same port: a key missed on A is a
 * hit on B.
 */
async function redisOutage(
  redis: Awaited<ReturnType<typeof startRedis>>,
  upstream: ReturnType<typeof startFixtureUpstream>,
  instances: Instance[],
  lbUrl: string,
): Promise<void> {
  const [a, b] = instances as [Instance, Instance, Instance];
  const urls = [lbUrl, ...instances.map((i) => i.url)];
  await redis.stop();
  // At once (while the instances may not have noticed yet), then after.
  let fresh = 1;
  const everyGet200 = async () => {
    for (const url of urls) {
      for (const path of ["/posts/7", "/posts/1", `/todos/${fresh++}`]) {
        assert.equal((await call(`${url}${path}`)).status, 200, url + path);
      }
    }
  };
  await everyGet200();
  for (const instance of instances) {
    await until(
      async () => await scrapeSample(instance.url, "cache_redis_up") === 0,
      `${instance.name} sees Redis down`,
    );
    assert.equal((await call(`${instance.url}/readyz`)).status, 200);
  }
  await everyGet200();

  await redis.restart();
  for (const instance of instances) {
    await until(
      async () => await scrapeSample(instance.url, "cache_redis_up") === 1,
      `${instance.name} sees Redis back`,
    );
  }
  const key = "/albums/3";
  const miss = await call(`${a.url}${key}`);
  assert.equal(miss.status, 200);
  const hit = await call(`${b.url}${key}`);
  assert.equal(hit.status, 200);
  assert.match(hit.headers.get("cache-status") ?? "", /; hit/);
  assert.equal(upstream.hits(key), 1, "A's load is B's hit");
}

/**
 * SIGKILL of A with an upload's body half sent: no object, no file, the
 * multipart upload invisible; B and C keep serving (nginx moves on); A
 * restarted with a short idle timeout aborts the stale multipart upload.
 */
async function killedMidUpload(
  ceph: Ceph,
  env: Record<string, string>,
  instances: Instance[],
  lbUrl: string,
): Promise<void> {
  const [a, b, c] = instances as [Instance, Instance, Instance];
  const { key, begun } = await killMidUpload(ceph, a);
  // Nothing visible: not in B's listing, not served by C, no object.
  const id = key.replace(/^files\//, "");
  assert.deepEqual((await (await fetch(`${b.url}/files`)).json()).items, []);
  assert.equal((await call(`${c.url}/files/${id}`)).status, 404);
  assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [key] });
  assert.deepEqual(await filesBelow(a.dataDir), [], "nothing on A's disk");

  await othersKeepServing(lbUrl);
  await restartSweeps(ceph, env, a, begun);
}

/**
 * Kills `a` (SIGKILL) with an upload's body half sent and a part of it in
 * the store; resolves with the upload's key and when it began.
 */
async function killMidUpload(
  ceph: Ceph,
  a: Instance,
): Promise<{ key: string; begun: number }> {
  const chunk = bytesOf(MiB, 3);
  const held = Promise.withResolvers<void>();
  let sent = 0;
  // 11 of 22 MiB, then the client holds (two parts of 5 MiB can go out).
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 11) {
        await held.promise;
        return controller.close();
      }
      sent++;
      controller.enqueue(chunk.slice());
    },
  });
  const posting = fetch(`${a.url}/files`, {
    method: "POST",
    body,
    headers: { "content-type": "application/octet-stream" },
  }).then((res) => res.body?.cancel().then(() => res.status), (e) => e);
  let key = "";
  let begun = 0;
  try {
    await until(async () => {
      key = (await bucketContents(ceph)).uploads[0] ?? "";
      return key !== "";
    }, "A's multipart upload begins");
    begun = Date.now();
    const uploadId = await uploadIdOf(ceph, key);
    await until(
      async () => await partsOf(ceph, key, uploadId) > 0,
      "a part of A's upload is in the store",
    );
    a.service.kill("SIGKILL");
    await a.service.status;
  } finally {
    held.resolve();
  }
  assert.ok(await posting instanceof TypeError, "the upload broke off");
  return { key, begun };
}

/** B and C keep serving, reads and uploads, through nginx. */
async function othersKeepServing(lbUrl: string): Promise<void> {
  for (let i = 0; i < 6; i++) {
    assert.equal((await call(`${lbUrl}/posts/${i + 1}`)).status, 200);
  }
  const upload = await fetch(`${lbUrl}/files`, {
    method: "POST",
    body: bytesOf(1000, 4),
  });
  assert.equal(upload.status, 201);
  const { id: kept } = await upload.json();
  assert.equal(
    (await call(`${lbUrl}/files/${kept}`, { method: "DELETE" })).status,
    204,
  );
}

/**
 * A comes back on its port; with a 1 s idle timeout its start-up sweep
 * takes the multipart upload it left (begun more than 1 s ago).
 */
async function restartSweeps(
  ceph: Ceph,
  env: Record<string, string>,
  a: Instance,
  begun: number,
): Promise<void> {
  await a.service[Symbol.asyncDispose]();
  // Past the idle timeout since the upload began (under load it may be
  // already: no negative wait, Node's TimeoutNegativeWarning).
  await sleep(Math.max(0, begun + 1100 - Date.now()));
  const restarted = await startInstance(
    "a",
    { ...env, UPLOAD_IDLE_TIMEOUT_MS: "1000" },
    a.dataDir,
    a.port,
  );
  a.service = restarted.service;
  const swept = await restarted.service.waitForLine((r) =>
    r.msg === "files.swept"
  );
  assert.equal(swept.removed, 1);
  assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
  assert.equal((await call(`${a.url}/posts/1`)).status, 200);
}
