/**
 * deploy/nginx.conf as shipped, run by a real nginx in front of the service
 * and the real JSONPlaceholder: what a client of compose.yaml's
 * `127.0.0.1:8080` gets back through it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startDeployedNginx } from "./fixtures/deployed_nginx.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { linksOf } from "./fixtures/link_header.ts";
import { serveApp } from "./fixtures/served_app.ts";

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
