/**
 * Compression by the app: `Vary: Accept-Encoding` on every response whose
 * body could be compressed (identity answers and 304s included), gzip/br
 * with a weak ETag, small and non-compressible bodies left alone.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { get as httpGet, type IncomingHttpHeaders } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { negotiate } from "../services/http/accept_encoding.ts";
import { Compressor, isCompressible } from "../services/http/compression.ts";
import {
  memoByNumber,
  memoByValue,
  memoLast,
} from "../services/http/value_memo.ts";
import { varyWith } from "../services/http/vary.ts";
import { testApp } from "./fixtures/app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

function varies(res: Response): boolean {
  return /(^|,)\s*accept-encoding\s*(,|$)/i.test(res.headers.get("vary") ?? "");
}

Deno.test("memoByValue computes a value once, undefined results included, and keeps at most size values", () => {
  const calls: string[] = [];
  const lengthOrNothing = memoByValue((value) => {
    calls.push(value);
    return value === "" ? undefined : value.length;
  }, 2);
  assert.equal(lengthOrNothing("ab"), 2);
  assert.equal(lengthOrNothing("ab"), 2);
  assert.equal(lengthOrNothing(""), undefined);
  assert.equal(lengthOrNothing(""), undefined);
  assert.deepEqual(calls, ["ab", ""]);
  // A third value starts the memo again: "ab" is computed anew.
  assert.equal(lengthOrNothing("xyz"), 3);
  assert.equal(lengthOrNothing("ab"), 2);
  assert.deepEqual(calls, ["ab", "", "xyz", "ab"]);
  assert.throws(() => memoByValue(String, 0), RangeError);
});

Deno.test("memoLast makes a value once while its number stays, and again when it moves", () => {
  const made: number[] = [];
  const ttl = memoLast((n) => {
    made.push(n);
    return `ttl=${n}`;
  });
  assert.equal(ttl(59), "ttl=59");
  assert.equal(ttl(59), "ttl=59");
  assert.equal(ttl(58), "ttl=58");
  assert.equal(ttl(59), "ttl=59");
  assert.equal(ttl(-0), "ttl=0");
  assert.equal(ttl(0), "ttl=0");
  assert.deepEqual(made, [59, 58, 59, -0], "one per change of number");
});

Deno.test("memoByNumber makes a value once per number, and keeps at most size numbers", () => {
  const made: number[] = [];
  const date = memoByNumber((n) => {
    made.push(n);
    return `d${n}`;
  }, 2);
  assert.equal(date(1), "d1");
  assert.equal(date(2), "d2");
  assert.equal(date(1), "d1");
  assert.equal(date(2), "d2");
  assert.deepEqual(made, [1, 2], "two numbers in turn: each made once");
  // A third number starts the memo again: 1 is made anew.
  assert.equal(date(3), "d3");
  assert.equal(date(1), "d1");
  assert.deepEqual(made, [1, 2, 3, 1]);
  assert.throws(() => memoByNumber(String, 0), RangeError);
});

Deno.test("negotiate picks br or gzip by q-value, identity when neither", () => {
  assert.equal(negotiate(null), undefined);
  assert.equal(negotiate(""), undefined);
  assert.equal(negotiate("identity"), undefined);
  assert.equal(negotiate("gzip, deflate, br"), "br");
  assert.equal(negotiate("gzip"), "gzip");
  assert.equal(negotiate("br;q=0.5, gzip"), "gzip");
  assert.equal(negotiate("br;q=0, gzip;q=0"), undefined);
  assert.equal(negotiate("*"), "br");
  assert.equal(negotiate("*;q=0.1, br;q=0"), "gzip");
  assert.equal(negotiate("deflate"), undefined);
});

Deno.test("isCompressible knows text, JSON, problem+json and not binaries", () => {
  for (
    const type of [
      "application/json; charset=utf-8",
      "application/problem+json",
      "text/html",
      "text/plain; version=0.0.4",
      "application/javascript",
      "image/svg+xml",
    ]
  ) assert.ok(isCompressible(type), type);
  for (
    const type of [null, "application/octet-stream", "image/png", "video/mp4"]
  ) assert.ok(!isCompressible(type), String(type));
});

Deno.test("Compressor rejects bad options", () => {
  assert.throws(() => new Compressor({ minBytes: -1 }), RangeError);
  assert.throws(() => new Compressor({ maxBufferedBytes: 0 }), RangeError);
});

Deno.test("every compressible answer varies on Accept-Encoding: identity, gzip, br, 304", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);

  const identity = await t.get("/posts/1", {
    headers: { "accept-encoding": "identity" },
  });
  assert.equal(identity.status, 200);
  assert.equal(identity.headers.get("content-encoding"), null);
  assert.ok(varies(identity), "identity 200 lacks Vary: Accept-Encoding");
  const plain = await identity.text();
  const etag = identity.headers.get("etag")!;
  assert.match(etag, /^"/);

  // Over a socket, read raw (fetch would decode it): the runtime writes
  // Content-Length from the compressed body.
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    t.app.fetch,
  );
  const gzip = await rawGet(`http://127.0.0.1:${server.addr.port}/posts/1`, {
    "accept-encoding": "gzip",
  });
  assert.equal(gzip.headers["content-encoding"], "gzip");
  assert.match(gzip.headers.vary ?? "", /accept-encoding/i);
  assert.equal(gzip.headers.etag, `W/${etag}`);
  const gzipped = gzip.body;
  assert.equal(Number(gzip.headers["content-length"]), gzipped.length);
  assert.equal(new TextDecoder().decode(gunzipSync(gzipped)), plain);

  // Twice: the second comes from the compressed-bytes LRU.
  for (let i = 0; i < 2; i++) {
    const br = await t.get("/posts/1", {
      headers: { "accept-encoding": "gzip, deflate, br" },
    });
    assert.equal(br.headers.get("content-encoding"), "br");
    assert.ok(varies(br));
    const bytes = new Uint8Array(await br.arrayBuffer());
    assert.equal(new TextDecoder().decode(brotliDecompressSync(bytes)), plain);
  }

  // A revalidation with either validator: 304, and it varies too.
  for (const validator of [etag, `W/${etag}`]) {
    const notModified = await t.get("/posts/1", {
      headers: { "if-none-match": validator, "accept-encoding": "identity" },
    });
    assert.equal(notModified.status, 304);
    assert.ok(varies(notModified), "304 lacks Vary: Accept-Encoding");
  }

  // Too small to compress, but compressible: Vary, no encoding.
  const root = await t.get("/", { headers: { "accept-encoding": "gzip" } });
  assert.equal(root.headers.get("content-encoding"), null);
  assert.ok(varies(root));
  assert.deepEqual(await root.json(), { Hello: "World" });

  // Problems are JSON too.
  const missing = await t.get("/nope", {
    headers: { "accept-encoding": "identity" },
  });
  assert.equal(missing.status, 404);
  assert.ok(varies(missing));
  await missing.body?.cancel();
});

Deno.test("a compressed body kept for reuse is its own exact-size buffer, whatever the coding", async () => {
  const compressor = new Compressor();
  const body = new TextEncoder().encode(
    JSON.stringify({ pad: "x".repeat(200) }),
  );
  for (const coding of ["br", "gzip"]) {
    const req = new Request("http://localhost/", {
      headers: { "accept-encoding": coding },
    });
    const reply = await compressor.applyReply(req, {
      status: 200,
      headers: {
        "content-type": "application/json",
        "content-length": String(body.byteLength),
        etag: '"a"',
      },
      body,
    });
    assert.equal(reply.headers["content-encoding"], coding);
    assert.ok(reply.body instanceof Uint8Array, coding);
    // Brotli answers 40 bytes as a view of a 16 KiB buffer: kept as such,
    // each entry of the LRU pinned 16 KiB while counted as 40 bytes.
    assert.equal(reply.body.byteOffset, 0, coding);
    assert.equal(reply.body.buffer.byteLength, reply.body.byteLength, coding);
  }
});

Deno.test("binary downloads and partial content are not compressed and do not vary", async () => {
  await using t = await testApp([]);
  const bytes = new TextEncoder().encode("compressible text ".repeat(500));
  const created = await t.get("/files", { method: "POST", body: bytes });
  assert.equal(created.status, 201);
  const { id } = await created.json();

  const full = await t.get(`/files/${id}`, {
    headers: { "accept-encoding": "gzip" },
  });
  assert.equal(full.status, 200);
  assert.equal(full.headers.get("content-encoding"), null);
  assert.deepEqual(new Uint8Array(await full.arrayBuffer()), bytes);

  const part = await t.get(`/files/${id}`, {
    headers: { "accept-encoding": "gzip", range: "bytes=0-9" },
  });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-encoding"), null);
  assert.deepEqual(
    new Uint8Array(await part.arrayBuffer()),
    bytes.slice(0, 10),
  );
});

Deno.test("an upload's 201 is compressed, but its ETag (the file's) is kept and its bytes never reused", async () => {
  await using t = await testApp([]);
  const bytes = new TextEncoder().encode("same content ".repeat(100));
  const ids = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const created = await t.get("/files", {
      method: "POST",
      body: bytes,
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(created.status, 201);
    assert.match(created.headers.get("etag") ?? "", /^"[0-9a-f]{64}"$/);
    const raw = new Uint8Array(await created.arrayBuffer());
    const json = created.headers.get("content-encoding") === "gzip"
      ? gunzipSync(raw)
      : raw;
    ids.add(JSON.parse(new TextDecoder().decode(json)).id);
  }
  assert.equal(ids.size, 2);
});

Deno.test("long compressible bodies are compressed as they stream", async () => {
  const compressor = new Compressor({ maxBufferedBytes: 1024 });
  const text = "streamed line\n".repeat(10_000);
  const chunks = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < chunks.length; i += 500) {
        controller.enqueue(chunks.subarray(i, i + 500));
      }
      controller.close();
    },
  });
  const res = await compressor.apply(
    new Request("http://localhost/", {
      headers: { "accept-encoding": "gzip" },
    }),
    new Response(body, {
      headers: { "content-type": "text/plain", etag: '"abc"' },
    }),
  );
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(res.headers.get("etag"), 'W/"abc"');
  const out = gunzipSync(new Uint8Array(await res.arrayBuffer()));
  assert.equal(new TextDecoder().decode(out), text);
});

Deno.test("the running service varies identity answers and compresses for clients that ask", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    const identity = await fetch(`${service.url}/posts/1`, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(identity.status, 200);
    assert.equal(identity.headers.get("content-encoding"), null);
    assert.ok(varies(identity), "identity 200 lacks Vary: Accept-Encoding");
    assert.equal((await identity.json()).id, 1);

    const gzip = await fetch(`${service.url}/posts/1`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(gzip.headers.get("content-encoding"), "gzip");
    assert.ok(varies(gzip));
    assert.equal((await gzip.json()).id, 1);
  });
});

/** A GET over node:http, whose client leaves the body as sent. */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ headers: IncomingHttpHeaders; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on(
        "end",
        () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    }).on("error", reject);
  });
}

Deno.test("varyWith adds a field name once, keeps * and what is listed, whatever the case", () => {
  assert.equal(varyWith(null, "Accept-Encoding"), "Accept-Encoding");
  assert.equal(varyWith(undefined, "Origin"), "Origin");
  assert.equal(varyWith("", "Origin"), "Origin");
  assert.equal(
    varyWith("Origin", "Accept-Encoding"),
    "Origin, Accept-Encoding",
  );
  assert.equal(
    varyWith("accept-encoding", "Accept-Encoding"),
    "accept-encoding",
  );
  assert.equal(
    varyWith("Cookie ,  ACCEPT-ENCODING", "Accept-Encoding"),
    "Cookie ,  ACCEPT-ENCODING",
  );
  assert.equal(varyWith("*", "Origin"), "*");
  // Another field that only begins the same is no match.
  assert.equal(varyWith("Origin-X", "Origin"), "Origin-X, Origin");
});
