/**
 * Odd `Range` headers on a download, against real nginx serving the same
 * bytes as a static file. RFC 9110's list rule (5.6.1) has a recipient
 * take empty list elements, so `bytes=0-1,` is the range `0-1`: the
 * service answered it the whole file (200), reading the comma as several
 * ranges; nginx answers it 416. A range past the end beside a satisfiable
 * one is dropped (RFC 9110 14.2), as nginx drops it (206 of the other):
 * the service sent the whole file. Ranges that overlap or touch are
 * served as one (nginx sends them as `multipart/byteranges`, which the
 * service does not make: ranges apart get the whole file, 200).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { httpPaths, startNginx } from "./fixtures/nginx.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const SIZE = 1000;

interface Answer {
  status: number;
  contentRange: string | null;
  body: Uint8Array;
}

async function get(url: string, range: string): Promise<Answer> {
  const res = await fetch(url, { headers: { range } });
  return {
    status: res.status,
    contentRange: res.headers.get("content-range"),
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

Deno.test("Range forms on a download: the list rule's empty elements, dropped and merged ranges, next to nginx", () =>
  withTempDir(async (root) => {
    const bytes = crypto.getRandomValues(new Uint8Array(SIZE));
    await Deno.writeFile(join(root, "f.bin"), bytes, { mode: 0o644 });
    // nginx's workers may run as another user (nobody, under root).
    await Deno.chmod(root, 0o755);
    await using nginx = await startNginx({}, (dir, port) => `
daemon off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events {}
http {
  ${httpPaths(dir, {})}
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`);
    await using service = await serveApp({});
    const stored = await fetch(`${service.url}/files`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    assert.equal(stored.status, 201);
    const { id } = await stored.json();
    const ours = (range: string) => get(`${service.url}/files/${id}`, range);
    const theirs = (range: string) => get(`${nginx.url}/f.bin`, range);
    const slice = (start: number, end: number) =>
      ({
        status: 206,
        contentRange: `bytes ${start}-${end}/${SIZE}`,
        body: bytes.slice(start, end + 1),
      }) satisfies Answer;
    const whole = { status: 200, contentRange: null, body: bytes };
    const unsatisfiable = {
      status: 416,
      contentRange: `bytes */${SIZE}`,
    };

    // Answered as nginx answers them.
    const same: [string, Answer | typeof unsatisfiable][] = [
      ["bytes=0-1", slice(0, 1)],
      ["bytes= 0-1", slice(0, 1)],
      ["bytes=0 - 1", slice(0, 1)],
      ["bytes = 0-1", whole],
      ["Bytes=0-1", slice(0, 1)],
      ["bytes=-0", unsatisfiable],
      ["bytes=1-0", unsatisfiable],
      ["bytes=x", unsatisfiable],
      ["bytes=0-1,x", unsatisfiable],
      ["bytes=1000-,2000-", unsatisfiable],
      ["bytes=-0,0-1", slice(0, 1)],
      ["bytes=0-1,1000-1001", slice(0, 1)],
      ["bytes=1000-1001,0-1", slice(0, 1)],
      ["bytes=0-1,1-0", slice(0, 1)],
      ["bytes=999-2000", slice(999, 999)],
      ["bytes=-2000", slice(0, 999)],
    ];
    for (const [range, expected] of same) {
      const [a, b] = await Promise.all([ours(range), theirs(range)]);
      assert.equal(b.status, expected.status, `nginx, ${range}`);
      assert.equal(a.status, expected.status, range);
      assert.equal(a.contentRange, expected.contentRange, range);
      if ("body" in expected) {
        assert.deepEqual(a.body, expected.body, range);
        assert.deepEqual(b.body, expected.body, `nginx, ${range}`);
      }
    }

    // Empty elements: the range they sit beside (RFC 9110 5.6.1); nginx 416.
    for (
      const range of [
        "bytes=0-1,",
        "bytes=,0-1",
        "bytes=0-1,,",
        "bytes=0-1, \t",
      ]
    ) {
      assert.equal((await theirs(range)).status, 416, `nginx, ${range}`);
      assert.deepEqual(await ours(range), slice(0, 1), range);
    }
    // Only empty elements: no range-spec, 416 as nginx.
    assert.equal((await ours("bytes=,")).status, 416);
    assert.equal((await theirs("bytes=,")).status, 416);

    // Several ranges: nginx sends multipart/byteranges; the service one
    // range when they overlap or touch, else the whole file.
    const merged: [string, Answer][] = [
      ["bytes=0-0,1-1", slice(0, 1)],
      ["bytes=0-1,1-2", slice(0, 2)],
      ["bytes=-1,-1", slice(999, 999)],
      ["bytes=0-1 , 2-3", slice(0, 3)],
      ["bytes=0-0,-1", whole],
      ["bytes=0-1,5-9,20-30", whole],
      [
        `bytes=${
          Array.from({ length: 200 }, (_, i) => `${i * 4}-${i * 4}`).join(",")
        }`,
        whole,
      ],
    ];
    for (const [range, expected] of merged) {
      const [a, b] = await Promise.all([ours(range), theirs(range)]);
      assert.equal(b.status, 206, `nginx, ${range}`);
      assert.match(b.contentRange ?? "multipart", /multipart|bytes/);
      assert.deepEqual(a, expected, range);
    }
  }, "range_list-"));
