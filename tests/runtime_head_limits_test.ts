/**
 * What Deno 2.9.6 answers itself before the service sees a request, as the
 * README's "Limits and protections" states: a head over 64 KiB or with more
 * than 128 header lines, and a malformed head, get the runtime's bare 400
 * (no body, not 431, not problem+json); an HTTP/1.1 request without `Host`
 * is served like an HTTP/1.0 one. Over h2c a header list past ~16 KiB gets a
 * bare 431. A long target is the service's 414 problem+json up to those
 * limits. When a Deno upgrade changes any of this,
 * this test fails and the README (and perhaps a 431 of our own) is due.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { runTool } from "./fixtures/tool.ts";
import { exchange } from "./fixtures/until_closed.ts";

/** A GET of /healthz with `lines` extra header lines of `bytes` each. */
function headWith(lines: number, bytes: number, version = "1.1"): string {
  let head = `GET /healthz HTTP/${version}\r\nhost: x\r\nconnection: close\r\n`;
  for (let i = 0; i < lines; i++) {
    head += `x-${i}: ${"a".repeat(bytes)}\r\n`;
  }
  return `${head}\r\n`;
}

Deno.test("the runtime's own answers: a head past 64 KiB or 128 lines and a malformed head get a bare 400, a head without Host is served", async () => {
  await using service = await serveApp({});
  const served = await exchange(service.url, headWith(1, 60_000));
  assert.equal(served.status, 200, "a 60 KB head is the service's");
  const refused = [
    headWith(1, 70_000),
    headWith(150, 4),
    "GARBAGE\r\n\r\n",
    "GET /healthz HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n",
  ];
  for (const head of refused) {
    const answer = await exchange(service.url, head);
    assert.equal(answer.status, 400, head.slice(0, 40));
    assert.match(answer.headers, /\r\ncontent-length: 0(\r\n|$)/);
    assert.doesNotMatch(answer.headers, /content-type/);
    assert.equal(answer.body, "");
  }
  for (const version of ["1.1", "1.0"]) {
    const answer = await exchange(
      service.url,
      `GET /healthz HTTP/${version}\r\nconnection: close\r\n\r\n`,
    );
    assert.equal(answer.status, 200, `HTTP/${version} without Host`);
  }
});

/** `GET /posts?q=aaa...` whose path and query are `length` characters. */
function longTarget(length: number): string {
  return "/posts?q=" + "a".repeat(length - "/posts?q=".length);
}

Deno.test("a long target is the service's 414 problem+json up to the runtime's limits: a 65,540-byte HTTP/1.1 head, and a ~16 KiB h2c header list (past them the bare 400, and 431)", async () => {
  await using service = await serveApp({});
  // 45 bytes besides the target: the request line's and two header lines.
  const head = (target: string) =>
    `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`;
  const longest = await exchange(service.url, head(longTarget(65_540 - 45)));
  assert.equal(longest.status, 414, "a 65,540-byte head is the service's");
  assert.match(longest.headers, /content-type: application\/problem\+json/);
  const over = await exchange(service.url, head(longTarget(65_541 - 45)));
  assert.equal(over.status, 400, "a byte more is the runtime's");
  assert.equal(over.body, "");
  const h2 = async (length: number) => {
    const out = await runTool("curl", [
      "--silent",
      "--http2-prior-knowledge",
      "--write-out",
      "\n%{http_code} %{http_version} %{content_type}",
      service.url + longTarget(length),
    ], { install: "apt-get install -y curl" });
    return out.stdout;
  };
  // Besides the target curl's h2c GET sends :method, :scheme, :authority,
  // user-agent and accept: on the service, 16,110 characters passed, 16,111
  // got the 431.
  assert.match(
    await h2(16_000),
    /"status":414[^]*\n414 2 application\/problem\+json$/,
  );
  assert.equal(await h2(17_000), "\n431 2 ");
});
