/**
 * `OPTIONS *` (asterisk-form, RFC 9112 3.2.4; RFC 9110 9.3.7) asks about
 * the server as a whole, not a resource: 204 with `Allow` naming every
 * method some route takes, over HTTP/1.0, 1.1 and h2c alike (curl sends
 * it as it is; the runtime gives it the path `/*`). It was a 404.
 *
 * Needs curl (Debian: curl); CI installs it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { runTool } from "./fixtures/tool.ts";

/** `curl -X OPTIONS --request-target '*'` with `flags`: status and head. */
async function optionsStar(url: string, flags: string[]) {
  const out = await runTool("curl", [
    "-s",
    "-D",
    "-",
    "-o",
    "/dev/null",
    ...flags,
    "-X",
    "OPTIONS",
    "--request-target",
    "*",
    `${url}/`,
  ], { install: "apt-get install -y curl" });
  assert.equal(out.code, 0, out.stderr);
  const head = out.stdout.trim();
  return { status: Number(head.split(" ")[1]), head };
}

Deno.test("OPTIONS * is 204 with Allow naming every method the server takes, over HTTP/1.0, 1.1 and h2c", async () => {
  await using served = await serveApp({});
  for (
    const flags of [["--http1.0"], ["--http1.1"], ["--http2-prior-knowledge"]]
  ) {
    const answer = await optionsStar(served.url, flags);
    assert.equal(answer.status, 204, `${flags}: ${answer.head}`);
    const allow = answer.head.match(/^allow: (.*)$/im)?.[1]?.trim();
    assert.equal(
      allow,
      "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
      String(flags),
    );
  }
  // Logged and counted under a route of its own, not as unmatched.
  const lines = served.records.filter((r) => r.msg === "request");
  assert.equal(lines.length, 3);
  for (const line of lines) {
    assert.equal(line.status, 204);
    assert.equal(line.route, "*");
  }
});

Deno.test("OPTIONS on a path is unchanged: a route's methods, or 404", async () => {
  await using served = await serveApp({});
  const route = await fetch(`${served.url}/posts/1`, { method: "OPTIONS" });
  await route.body?.cancel();
  assert.equal(route.status, 204);
  assert.equal(
    route.headers.get("allow"),
    "DELETE, GET, HEAD, OPTIONS, PATCH, PUT",
  );
  const none = await fetch(`${served.url}/nowhere`, { method: "OPTIONS" });
  await none.body?.cancel();
  assert.equal(none.status, 404);
});
