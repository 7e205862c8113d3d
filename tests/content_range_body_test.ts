/**
 * A body that says it is part of a representation (`Content-Range`, what a
 * resumable client sends with each piece): RFC 9110 14.5 asks a server
 * that takes PUT for a 400 to a PUT with `Content-Range`, "since the
 * content is likely to be partial content that has been erroneously PUT as
 * a full representation". The service takes no partial uploads, so an
 * upload (PUT or POST) with it is 400 problem+json and nothing is kept,
 * where the piece was stored as a whole file with a 201; and a `PUT` write
 * with it is 400 and not sent upstream, where it replaced the item with
 * the piece.
 *
 * Needs curl (Debian: curl); CI installs it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

Deno.test("an upload with Content-Range (a piece of a file) is 400 problem+json, nothing kept", async () => {
  await withTempDir(async (dir) => {
    await using served = await serveApp({});
    const piece = join(dir, "piece.bin");
    await Deno.writeTextFile(piece, "the first 24 bytes of it");
    for (
      const args of [
        ["-T", piece],
        ["--data-binary", `@${piece}`, "-H", "content-type: text/plain"],
      ]
    ) {
      const { code, stdout } = await runTool("curl", [
        "-s",
        "-w",
        "\n%{http_code} %{content_type}",
        ...args,
        "-H",
        "Content-Range: bytes 0-23/1000",
        `${served.url}/files`,
      ], { install: "apt-get install -y curl" });
      assert.equal(code, 0);
      const [body = "", tail = ""] = stdout.split("\n");
      assert.equal(tail, "400 application/problem+json", `${args}: ${body}`);
      const problem = JSON.parse(body);
      assert.match(problem.detail, /Content-Range/);
    }
    const list = await (await fetch(`${served.url}/files`)).json();
    assert.deepEqual(list.items, []);
  });
});

Deno.test("a PUT write with Content-Range is 400 problem+json, not sent upstream", async () => {
  await using upstream = startFixtureUpstream();
  await using served = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const res = await fetch(`${served.url}/posts/1`, {
    method: "PUT",
    headers: {
      "content-type": "application/json",
      "content-range": "bytes 0-12/100",
    },
    body: '{"title":"t"}',
  });
  const problem = await res.json();
  assert.equal(res.status, 400, JSON.stringify(problem));
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.match(problem.detail, /Content-Range/);
  assert.equal(upstream.requests.filter((r) => r.method === "PUT").length, 0);
});
