/**
 * A raw backslash in a request target's path: the URL standard reads it as
 * `/` (http is a special scheme), so `GET /posts\..\metrics` was served as
 * `/metrics`, while nginx reads the path as sent, `\` a plain character
 * (`/posts\..\metrics`, under `/posts`). A location rule in front
 * (`location /metrics { deny all; }`, an `auth_request` on `/files`) was
 * bypassed: nginx matched one path and passed the target on, the service
 * served another. A backslash is no path character (RFC 3986 3.3), so the
 * target is invalid (RFC 9112 3.2): 400 problem+json, before routing. In
 * the query the URL standard keeps it as sent, as nginx does: served.
 *
 * @module
 */

import assert from "node:assert/strict";
import { adaptDeployedConfig } from "./fixtures/deployed_nginx.ts";
import { startNginx } from "./fixtures/nginx.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { exchange } from "./fixtures/until_closed.ts";

/** `GET target` with `Host: x`, read to the close. */
function get(url: string, target: string) {
  return exchange(
    url,
    `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  );
}

const METRICS = /^# TYPE /m;

Deno.test("a backslash in the path is 400 problem+json before routing, never another route's answer", async () => {
  await using served = await serveApp({});
  for (
    const target of [
      "/posts\\..\\metrics",
      "/posts/..\\metrics",
      "/x\\%2e%2e\\metrics",
      "http://x/posts\\..\\metrics",
      "/posts\\1",
      "/files\\?limit=1",
    ]
  ) {
    const answer = await get(served.url, target);
    assert.equal(answer.status, 400, `${target}: ${answer.headers}`);
    assert.match(answer.headers, /content-type: application\/problem\+json/);
    assert.doesNotMatch(answer.body, METRICS, target);
    const problem = JSON.parse(answer.body);
    assert.equal(problem.status, 400);
    assert.match(problem.detail, /backslash/);
    // The path as sent, its backslashes escaped: never the path URL made.
    assert.match(problem.instance, /%5C/, target);
  }
  // A target starting with one is no origin-form: the runtime's own 400.
  const first = await get(served.url, "\\metrics");
  assert.equal(first.status, 400);
  assert.doesNotMatch(first.body, METRICS);
  // In the query a backslash is kept as sent, by URL as by nginx.
  const query = await get(served.url, "/metrics?x=a\\b");
  assert.equal(query.status, 200);
  assert.match(query.body, METRICS);
  assert.equal(
    served.records.filter((r) => r.msg === "request" && r.status === 400)
      .length,
    6,
  );
  assert.deepEqual(
    served.records.filter((r) => r.level === "error" || r.level === "warn"),
    [],
  );
});

Deno.test("behind deploy/nginx.conf with a location rule, a backslash no longer reaches the path nginx denied", async () => {
  await using served = await serveApp({});
  const port = Number(new URL(served.url).port);
  // deploy/nginx.conf, with the rule an operator adds to keep /metrics
  // to the inside.
  const deployed = await Deno.readTextFile(
    new URL("../deploy/nginx.conf", import.meta.url),
  );
  const ruled = deployed.replace(
    /^(\s*)location \/ \{/m,
    "$1location /metrics { deny all; }\n$1location / {",
  );
  assert.notEqual(ruled, deployed);
  await using nginx = await startNginx(
    {},
    (dir, listen) =>
      adaptDeployedConfig(ruled, dir, listen, { upstreams: [port] }),
  );
  assert.equal((await get(nginx.url, "/metrics")).status, 403);
  // nginx normalises dot segments and escapes as the service does.
  assert.equal((await get(nginx.url, "/x/%2e%2e/metrics")).status, 403);
  for (const target of ["/posts\\..\\metrics", "/posts/..\\metrics"]) {
    const answer = await get(nginx.url, target);
    // Before: 200 and the metrics, nginx having matched `location /`.
    assert.doesNotMatch(answer.body, METRICS, target);
    assert.equal(answer.status, 400, target);
  }
});
