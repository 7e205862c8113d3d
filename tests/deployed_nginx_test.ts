/**
 * deploy/nginx.conf as shipped, run by a real nginx in front of the service
 * and the real JSONPlaceholder: what a client of compose.yaml's
 * `127.0.0.1:8080` gets back through it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { serveCaching } from "./fixtures/caching_service.ts";
import {
  adaptDeployedConfig,
  type DeployedNginxOptions,
  startDeployedNginx,
} from "./fixtures/deployed_nginx.ts";
import { startNginx } from "./fixtures/nginx.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { linksOf } from "./fixtures/link_header.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { selfSigned } from "./fixtures/self_signed.ts";

Deno.test("deploy/nginx.conf passes on the Host the client sent, port included: a list's Link leads back through nginx", async () => {
  await using upstream = await startJsonPlaceholder();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  // Not on port 80, as compose publishes it on 8080.
  await using lb = await startDeployedNginx({
    upstreams: [Number(new URL(served.url).port)],
  });
  const page = await fetch(`${lb.url}/posts?_page=2&_limit=2`);
  assert.equal(page.status, 200);
  await page.body?.cancel();
  const links = linksOf(page);
  assert.deepEqual(Object.keys(links).sort(), [
    "first",
    "last",
    "next",
    "prev",
  ]);
  for (const url of Object.values(links)) {
    assert.ok(url.startsWith(`${lb.url}/posts?`), url);
  }
  const next = await fetch(links.next!);
  assert.deepEqual(
    (await next.json()).map((post: { id: number }) => post.id),
    [5, 6],
  );
});

Deno.test("deploy/nginx.conf ending TLS: with TRUST_FORWARDED_PROTO=x-forwarded-proto a list's Link says https://, without it http://", async () => {
  await using upstream = await startJsonPlaceholder();
  await using tls = await selfSigned();
  const conf = await Deno.readTextFile(
    new URL("../deploy/nginx.conf", import.meta.url),
  );
  using client = Deno.createHttpClient({ caCerts: [tls.pem] });
  for (
    const [trust, scheme] of [["x-forwarded-proto", "https"], ["off", "http"]]
  ) {
    await using served = await serveApp({
      args: ["--upstream-url", upstream.url, "--trust-forwarded-proto", trust!],
    });
    const options: DeployedNginxOptions = {
      upstreams: [Number(new URL(served.url).port)],
    };
    // deploy/nginx.conf as shipped, its listen made a TLS one.
    await using lb = await startNginx(
      options,
      (dir, port) =>
        adaptDeployedConfig(conf, dir, port, options).replace(
          `listen 127.0.0.1:${port};`,
          `listen 127.0.0.1:${port} ssl;\n    ssl_certificate ${tls.cert};\n` +
            `    ssl_certificate_key ${tls.key};`,
        ),
    );
    const origin = lb.url.replace(/^http:/, "https:");
    const page = await fetch(`${origin}/posts?_page=2&_limit=2`, { client });
    assert.equal(page.status, 200);
    await page.body?.cancel();
    const links = Object.values(linksOf(page));
    assert.equal(links.length, 4);
    const host = new URL(origin).host;
    for (const url of links) {
      assert.ok(
        url.startsWith(`${scheme}://${host}/posts?`),
        `${trust}: ${url}`,
      );
    }
    if (scheme === "https") {
      const next = await fetch(linksOf(page).next!, { client });
      assert.deepEqual(
        (await next.json()).map((post: { id: number }) => post.id),
        [5, 6],
      );
    }
  }
});

Deno.test("deploy/nginx.conf passes the instance's Date on: with CACHE_STORED_DATE a cached answer through it is dated when it was stored, not when nginx sent it", async () => {
  await using caching = await serveCaching({
    ttlSeconds: 60,
    swrSeconds: 0,
    args: ["--cache-stored-date", "true"],
  });
  await using lb = await startDeployedNginx({
    upstreams: [Number(new URL(caching.served.url).port)],
  });
  const first = await fetch(`${lb.url}/posts/1`);
  await first.body?.cancel();
  await sleep(2_100);
  const second = await fetch(`${lb.url}/posts/1`);
  await second.body?.cancel();
  assert.match(second.headers.get("cache-status") ?? "", /; hit; /);
  const age = Number(second.headers.get("age"));
  assert.ok(age >= 2, `Age ${age}`);
  // A client counting age from Date alone (Python's CacheControl) needs
  // the stored date; on main nginx put its own, now, in its place.
  const stored = Date.parse(first.headers.get("date") ?? "");
  const dated = Date.parse(second.headers.get("date") ?? "");
  assert.ok(dated <= stored + 1_000, `${second.headers.get("date")}`);
  assert.ok(Math.abs(dated + age * 1_000 - Date.now()) < 2_500);
});
