/**
 * A real nginx in front of the service, caching as its headers say
 * (`proxy_cache` with `proxy_cache_revalidate`, the origin's
 * `Cache-Control` obeyed), as it would be deployed. nginx reads `max-age`
 * and not `Age`, so a stale answer must say so in `Cache-Control` itself;
 * it must keep gzip from a client that did not ask, revalidate with the
 * service's `ETag`, and keep nothing the service says not to keep.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { type NginxServer, startCachingProxy } from "./fixtures/nginx.ts";
import { cacheNow } from "../services/cache/clock.ts";
import { serveCaching } from "./fixtures/caching_service.ts";
import { untilAged } from "./fixtures/entry_age.ts";
import { until } from "./fixtures/until.ts";

/** The service (TTL 1 s unless told) on a fixture upstream, nginx in front. */
async function stack(
  windows: {
    swrSeconds: number;
    sieSeconds: number;
    ttlSeconds?: number;
    args?: string[];
  },
) {
  const caching = await serveCaching({
    ttlSeconds: windows.ttlSeconds ?? 1,
    swrSeconds: windows.swrSeconds,
    args: [
      "--cache-stale-if-error-seconds",
      String(windows.sieSeconds),
      // One failing call per request, and the breaker out of the way.
      "--upstream-retries",
      "0",
      ...windows.args ?? [],
    ],
  });
  const { upstream, served } = caching;
  let nginx: NginxServer;
  try {
    nginx = await startCachingProxy({
      upstream: Number(new URL(served.url).port),
      originHeaders: "obey",
    });
  } catch (error) {
    await caching[Symbol.asyncDispose]();
    throw error;
  }
  return {
    upstream,
    served,
    nginx,
    /** A GET through nginx: its status, the headers that tell, the body. */
    async viaNginx(path: string, headers: HeadersInit = {}) {
      const res = await fetch(nginx.url + path, { headers });
      const body = await res.text();
      return {
        status: res.status,
        nginx: res.headers.get("x-cache-status"),
        ours: res.headers.get("cache-status"),
        requestId: res.headers.get("x-request-id"),
        headers: res.headers,
        body,
      };
    },
    async [Symbol.asyncDispose]() {
      await nginx[Symbol.asyncDispose]();
      await caching[Symbol.asyncDispose]();
    },
  };
}

Deno.test("nginx does not keep a stale-while-revalidate answer as fresh", async () => {
  await using s = await stack({ swrSeconds: 30, sieSeconds: 0 });
  await (await fetch(`${s.served.url}/posts/1`)).body?.cancel();
  // Past the 1 s TTL by the entry's age on the cache's clock (the app runs
  // in this process; read after the answer, a bound on its storedAt).
  await untilAged({ storedAt: cacheNow() }, 1000);

  const stale = await s.viaNginx("/posts/1");
  assert.equal(stale.nginx, "MISS");
  assert.match(stale.ours ?? "", /detail="stale-while-revalidate"/);
  await s.served.app.cache.settled();

  // Refreshed here meanwhile: nginx asks again and gets the fresh entry.
  const next = await s.viaNginx("/posts/1");
  assert.notEqual(
    next.nginx,
    "HIT",
    `nginx served the stale answer again as fresh (${next.ours}, Age ${
      next.headers.get("age")
    })`,
  );
  assert.match(next.ours ?? "", /; hit; /);
  assert.equal(next.headers.get("cache-control"), "public, max-age=1");
  // What told nginx: Age alone (past max-age) does not.
  assert.equal(stale.headers.get("cache-control"), "public, max-age=0");
});

Deno.test("nginx does not keep a stale-if-error answer as fresh", async () => {
  await using s = await stack({ swrSeconds: 0, sieSeconds: 600 });
  await (await fetch(`${s.served.url}/posts/1`)).body?.cancel();
  // Past the 1 s TTL by the entry's age on the cache's clock (the app runs
  // in this process; read after the answer, a bound on its storedAt).
  await untilAged({ storedAt: cacheNow() }, 1000);
  s.upstream.setFault("/posts/1", { status: 500 });

  const stale = await s.viaNginx("/posts/1");
  assert.equal(stale.status, 200);
  assert.match(stale.ours ?? "", /fwd-status=500; .*detail="stale-if-error"/);
  const again = await s.viaNginx("/posts/1");
  assert.notEqual(again.nginx, "HIT", "nginx kept the stale answer as fresh");

  // The upstream is back: the next answer through nginx is current.
  s.upstream.clearFaults();
  const recovered = await s.viaNginx("/posts/1");
  assert.notEqual(recovered.nginx, "HIT");
  assert.equal(recovered.ours, "async-api; fwd=miss; stored");
});

Deno.test("nginx keeps a fresh answer, per Accept-Encoding, and revalidates it with a 304", async () => {
  await using s = await stack({ swrSeconds: 0, sieSeconds: 0 });
  const gzip = await s.viaNginx("/posts/1", { "accept-encoding": "gzip" });
  assert.equal(gzip.nginx, "MISS");
  assert.equal(gzip.headers.get("content-encoding"), "gzip");
  const gzipHit = await s.viaNginx("/posts/1", { "accept-encoding": "gzip" });
  assert.equal(gzipHit.nginx, "HIT");
  // A client that did not ask for gzip never gets the stored gzip copy.
  const plain = await s.viaNginx("/posts/1", { "accept-encoding": "identity" });
  assert.equal(plain.nginx, "MISS");
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal(JSON.parse(plain.body).id, 1);

  // nginx counts whole seconds, and keeps a copy while not past them.
  await sleep(2100);
  const revalidated = await s.viaNginx("/posts/1", {
    "accept-encoding": "gzip",
  });
  assert.equal(revalidated.nginx, "REVALIDATED");
  const asked = s.upstream.hits("/posts/1");
  assert.equal(asked, 2, "the service refreshed its entry once");
});

Deno.test("NGINX_ACCEL_EXPIRES: nginx keeps an aged answer no longer than the entry here stays fresh", async () => {
  await using s = await stack({
    swrSeconds: 0,
    sieSeconds: 0,
    ttlSeconds: 4,
    args: ["--nginx-accel-expires", "true"],
  });
  await (await fetch(`${s.served.url}/posts/1`)).body?.cancel();
  // Asked with nothing sent, so the entry is not touched.
  const here = () => s.served.app.cache.hit("/posts/1");
  await until(() => (here()?.ageSeconds ?? 0) >= 2, "the entry here at Age 2");

  // Age 2 of 4 here: nginx, which reads max-age and not Age, would keep it
  // 4 s more, until the entry here had been expired for 2 s.
  const aged = await s.viaNginx("/posts/1");
  assert.equal(aged.nginx, "MISS");
  assert.match(aged.ours ?? "", /; hit; /);
  const age = Number(aged.headers.get("age"));
  assert.ok(age >= 2, `Age ${age}`);
  assert.equal(aged.headers.get("cache-control"), "public, max-age=4");
  // nginx keeps X-Accel-Expires to itself.
  assert.equal(aged.headers.get("x-accel-expires"), null);
  const direct = await fetch(`${s.served.url}/posts/1`);
  await direct.body?.cancel();

  // Past what was left of the entry's lifetime here, on nginx's clock (its
  // Date, whole seconds: it keeps a copy through the second its time ends
  // in): nginx asks again rather than answering from its copy.
  const stored = Date.parse(aged.headers.get("date") ?? "") / 1000;
  const left = 4 - age;
  await until(
    () => Math.floor(Date.now() / 1000) > stored + left,
    "the copy's lifetime over on nginx's clock",
  );
  assert.equal(here(), undefined, "the entry here has expired");
  const expired = await s.viaNginx("/posts/1");
  assert.notEqual(
    expired.nginx,
    "HIT",
    `nginx served its copy past the entry's lifetime (${expired.ours})`,
  );
  // It asks with the service's ETag: a 304, its copy renewed (REVALIDATED),
  // or a 200 (EXPIRED).
  assert.ok(
    expired.nginx === "REVALIDATED" || expired.nginx === "EXPIRED",
    `nginx: ${expired.nginx}`,
  );
  // What told nginx: the seconds left here, as its own header says them.
  assert.equal(
    direct.headers.get("x-accel-expires"),
    String(4 - Number(direct.headers.get("age"))),
  );
});

Deno.test("X-Accel-Expires only with NGINX_ACCEL_EXPIRES, and only on an aged answer", async () => {
  const accel = async (url: string, path = "/posts/1") => {
    const res = await fetch(url + path);
    await res.body?.cancel();
    return {
      age: Number(res.headers.get("age")),
      expires: res.headers.get("x-accel-expires"),
    };
  };
  {
    // Without the setting (the default): max-age and Age alone. A TTL
    // that the 0.3 s below cannot outlast on a loaded machine (with 1 s,
    // a second's stall expired the entry: Age 0 again).
    await using s = await stack({
      swrSeconds: 0,
      sieSeconds: 0,
      ttlSeconds: 60,
    });
    assert.deepEqual(await accel(s.served.url), { age: 0, expires: null });
    // Age is whole seconds rounded up: any time passed makes it 1.
    await sleep(300);
    const aged = await accel(s.served.url);
    assert.ok(aged.age >= 1);
    assert.equal(aged.expires, null);
  }
  await using s = await stack({
    swrSeconds: 0,
    sieSeconds: 0,
    ttlSeconds: 60,
    args: ["--nginx-accel-expires", "true"],
  });
  // Fetched now: max-age alone is right.
  assert.deepEqual(await accel(s.served.url), { age: 0, expires: null });
  await accel(s.served.url, "/users/1/summary");
  await sleep(300);
  for (const path of ["/posts/1", "/users/1/summary"]) {
    const aged = await accel(s.served.url, path);
    assert.ok(aged.age >= 1, path);
    assert.equal(aged.expires, String(60 - aged.age), path);
  }
});

Deno.test("nginx keeps no answer the service says not to: /metrics, /healthz, /files, errors", async () => {
  await using s = await stack({ swrSeconds: 0, sieSeconds: 0 });
  s.upstream.setFault("/posts/2", { status: 500 });
  for (const path of ["/metrics", "/healthz", "/files", "/nope", "/posts/2"]) {
    const first = await s.viaNginx(path);
    const second = await s.viaNginx(path);
    assert.notEqual(second.nginx, "HIT", path);
    assert.notEqual(
      second.requestId,
      first.requestId,
      `${path} came from nginx`,
    );
  }
});
