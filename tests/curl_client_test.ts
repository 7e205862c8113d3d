/**
 * The service through curl, the client the README's examples use:
 * `--compressed` (br and gzip are offered; zstd is not, so it gets the
 * identity), `--http1.0` (reads and a sized upload; a chunked upload is not
 * possible in HTTP/1.0, curl refuses it itself), `-T file` and `-T -`
 * (chunked from stdin), `-I`, `-C -` resume, and revalidation with
 * `If-None-Match` and `-z` (If-Modified-Since). The headers a downstream
 * cache computes freshness from (RFC 9111 4.2.3: `Date`, `Age`,
 * `Cache-Control: max-age`) make a fresh hit look fresh, and a 304 carries
 * what its 200 would (RFC 9110 15.4.5).
 *
 * Needs curl (Debian: curl); CI installs it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";
import { hashFile, sha256Hex } from "./fixtures/upload_client.ts";

interface CurlResult {
  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  status: string;
  headers: Headers;
  body: string;
}

/**
 * `curl -s ...` with the heads written to a file: the last response's
 * status line and headers (after any `100 Continue`), and what curl wrote
 * to stdout (the body, unless `-o` or `-I`).
 */
async function curl(
  args: string[],
  options: { stdin?: Uint8Array } = {},
): Promise<CurlResult> {
  const dump = await Deno.makeTempFile({ prefix: "curl-head-" });
  try {
    const out = await runTool("curl", ["-s", "-S", "-D", dump, ...args], {
      install: "apt-get install -y curl",
      ...options,
    });
    assert.equal(out.code, 0, `curl ${args.join(" ")}: ${out.stderr}`);
    const heads = (await Deno.readTextFile(dump)).split("\r\n\r\n")
      .filter((head) => head !== "");
    const [status = "", ...lines] = heads.at(-1)!.split("\r\n");
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    return { status, headers, body: out.stdout };
  } finally {
    await Deno.remove(dump);
  }
}

/** RFC 9111 4.2.3 and 4.2.1: what a browser's cache computes. */
function freshness(headers: Headers): { age: number; lifetime: number } {
  const date = Date.parse(headers.get("date") ?? "");
  assert.ok(Number.isFinite(date), "a Date header");
  assert.ok(Math.abs(Date.now() - date) < 5_000, "Date is now");
  const age = headers.get("age");
  assert.match(age ?? "", /^\d+$/, "Age is delta-seconds");
  const maxAge = /(?:^|,)\s*max-age=(\d+)/.exec(
    headers.get("cache-control") ?? "",
  );
  assert.ok(maxAge, "Cache-Control has max-age");
  return { age: Number(age), lifetime: Number(maxAge[1]) };
}

Deno.test("curl: --compressed, --http1.0, -I, If-None-Match, and the freshness a browser computes", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const url = service.url;

  const miss = await curl([`${url}/todos/3`]);
  assert.equal(miss.status, "HTTP/1.1 200 OK");
  assert.deepEqual(freshness(miss.headers), { age: 0, lifetime: 60 });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const hit = await curl([`${url}/todos/3`]);
  assert.match(hit.headers.get("cache-status") ?? "", /hit/);
  const { age, lifetime } = freshness(hit.headers);
  assert.ok(
    age >= 1 && age < lifetime,
    `a fresh hit: age ${age} < ${lifetime}`,
  );

  const etag = hit.headers.get("etag")!;
  const revalidated = await curl([
    "-H",
    `If-None-Match: ${etag}`,
    `${url}/todos/3`,
  ]);
  assert.equal(revalidated.status, "HTTP/1.1 304 Not Modified");
  assert.equal(revalidated.body, "");
  for (const name of ["etag", "cache-control", "vary", "date", "age"]) {
    assert.equal(
      revalidated.headers.has(name),
      true,
      `the 304 carries ${name}`,
    );
  }
  assert.equal(revalidated.headers.get("etag"), etag);

  const head = await curl(["-I", `${url}/todos/3`]);
  assert.equal(head.status, "HTTP/1.1 200 OK");
  assert.equal(
    Number(head.headers.get("content-length")),
    new TextEncoder().encode(hit.body).byteLength,
  );

  const photos = JSON.parse((await curl([`${url}/photos`])).body) as unknown[];
  for (const [offer, expected] of [["br", "br"], ["gzip", "gzip"]]) {
    const res = await curl([
      "--compressed",
      "-H",
      `Accept-Encoding: ${offer}`,
      `${url}/photos`,
    ]);
    assert.equal(res.headers.get("content-encoding"), expected);
    assert.equal(res.headers.get("vary"), "Accept-Encoding, Origin");
    assert.deepEqual(JSON.parse(res.body), photos, `${offer} decodes`);
  }
  const zstd = await curl(["-H", "Accept-Encoding: zstd", `${url}/photos`]);
  assert.equal(zstd.headers.has("content-encoding"), false);
  assert.deepEqual(JSON.parse(zstd.body), photos);

  const old = await curl(["--http1.0", `${url}/posts/1`]);
  assert.equal(old.status, "HTTP/1.0 200 OK");
  assert.equal((JSON.parse(old.body) as { id: number }).id, 1);
  assert.equal(
    Number(old.headers.get("content-length")),
    new TextEncoder().encode(old.body).byteLength,
  );
});

Deno.test("curl: -T file, -T - (chunked), --http1.0 -T, -C - resume and -z revalidation of a stored file", async () => {
  await using service = await serveApp({});
  await withTempDir(async (dir) => {
    const bytes = new Uint8Array(2 * 1024 * 1024 + 3);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    const sha256 = sha256Hex(bytes);
    const file = join(dir, "source.bin");
    await Deno.writeFile(file, bytes);

    const uploads = [
      await curl(["-T", file, `${service.url}/files`]),
      await curl(["-T", "-", `${service.url}/files`], { stdin: bytes }),
      await curl(["--http1.0", "-T", file, `${service.url}/files`]),
    ];
    for (const upload of uploads) {
      assert.match(upload.status, /^HTTP\/1\.[01] 201 Created$/);
      const body = JSON.parse(upload.body) as { size: number; sha256: string };
      assert.deepEqual([body.size, body.sha256], [bytes.length, sha256]);
    }
    // curl sends stdin chunked (no length known): the service saw three.
    const created = service.records.filter((r) => r.msg === "upload.created");
    assert.equal(created.length, 3);

    const { id } = JSON.parse(uploads[0]!.body) as { id: string };
    const download = `${service.url}/files/${id}`;
    const partial = join(dir, "partial.bin");
    await Deno.writeFile(partial, bytes.subarray(0, 1_000_000));
    const resumed = await curl(["-C", "-", "-o", partial, download]);
    assert.equal(resumed.status, "HTTP/1.1 206 Partial Content");
    assert.equal((await hashFile(partial)).sha256, sha256);

    // -z FILE: If-Modified-Since the local copy's mtime, as a cron job does;
    // from the second after the file's, when its Last-Modified is sent.
    const { created: at } = JSON.parse(uploads[0]!.body) as { created: string };
    const strong = Math.floor(Date.parse(at) / 1000) * 1000 + 1000;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, strong - Date.now()) + 10)
    );
    const fresh = await curl([
      "-z",
      partial,
      "-o",
      join(dir, "z.bin"),
      download,
    ]);
    assert.equal(fresh.status, "HTTP/1.1 304 Not Modified");
    const etag = fresh.headers.get("etag")!;
    assert.equal(etag, `"${sha256}"`);
    const matched = await curl(["-H", `If-None-Match: ${etag}`, download]);
    assert.equal(matched.status, "HTTP/1.1 304 Not Modified");
  });
});

Deno.test("curl: -T past MAX_UPLOAD_BYTES gets its 413 after sending little of the file, and nothing is kept", async () => {
  const limit = 1024 * 1024;
  await using service = await serveApp({
    args: ["--max-upload-bytes", String(limit)],
  });
  await withTempDir(async (dir) => {
    const file = join(dir, "big.bin");
    const size = 64 * limit;
    await Deno.writeFile(file, new Uint8Array());
    await Deno.truncate(file, size);
    // curl sends `Expect: 100-continue` for a body this size. Deno 2.9
    // answers `100 Continue` before the handler runs, so curl starts to
    // send; the 413 (declared length past the limit, with Connection:
    // close) comes before the service reads a byte, and curl stops there,
    // having sent what the sockets' buffers took meanwhile (64 KiB to a few
    // MiB over loopback).
    const refused = await curl([
      "-T",
      file,
      "-o",
      "/dev/null",
      "-w",
      "%{size_upload}",
      `${service.url}/files`,
    ]);
    assert.equal(refused.status, "HTTP/1.1 413 Payload Too Large");
    assert.ok(
      Number(refused.body) < size / 4,
      `curl sent ${refused.body} bytes of ${size}`,
    );
    const listed = await (await fetch(`${service.url}/files`)).json() as {
      items: unknown[];
    };
    assert.deepEqual(listed.items, []);
  });
});
