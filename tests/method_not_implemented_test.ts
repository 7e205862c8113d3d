/**
 * Methods no resource of the service supports get 501 (RFC 9110 15.6.2),
 * methods it knows but a resource does not take 405 with `Allow`: sent by
 * curl and on a raw socket (fetch would upper-case `get`) to the served
 * app.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { runTool } from "./fixtures/tool.ts";

/** One request on a raw socket; resolves the status line and the body. */
async function raw(
  url: string,
  head: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  using conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(head));
  let text = "";
  const buffer = new Uint8Array(65536);
  const decoder = new TextDecoder();
  while (!text.includes("\r\n\r\n") || !/\}\s*$/.test(text)) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return {
    status: Number(text.slice(9, 12)),
    body: text.slice(text.indexOf("\r\n\r\n") + 4),
  };
}

Deno.test("an unknown method is 501 problem+json, a known one not taken 405 with Allow", async () => {
  await using service = await serveApp({});
  for (
    const [method, path] of [["FOO", "/posts/1"], ["TRACE", "/upload"]] as const
  ) {
    const out = await runTool("curl", [
      "-sS",
      "-X",
      method,
      "-w",
      "\n%{http_code} %{content_type}",
      `${service.url}${path}`,
    ], { install: "apt-get install -y curl" });
    const lines = out.stdout.trimEnd().split("\n");
    assert.equal(lines.at(-1), "501 application/problem+json", method);
    const problem = JSON.parse(lines.slice(0, -1).join("\n"));
    assert.equal(problem.status, 501);
    assert.match(problem.detail, new RegExp(`^${method} `));
  }
  const lower = await raw(
    service.url,
    "get /posts/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(lower.status, 501);
  assert.equal(JSON.parse(lower.body).status, 501);

  const put = await fetch(`${service.url}/docs`, { method: "PUT", body: "x" });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get("allow"), "GET, HEAD, OPTIONS");
  await put.body?.cancel();
});
