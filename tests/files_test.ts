/**
 * End-to-end tests of the upload routes over real loopback HTTP: the app
 * from `createApp` served by `Deno.serve` on port 0 with a temporary
 * DATA_DIR, driven by `fetch` and, where `fetch` cannot say it (an exact
 * Content-Length with a streamed body, a body shorter than declared,
 * headers without a body, unnormalised paths), by a raw TCP client.
 *
 * The pipeline itself (queue bounds, slow disks, read/write-bound) is
 * covered without HTTP in `upload_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type App, createApp } from "../routes/app.ts";
import { loadConfig } from "../services/ops/config.ts";
import { createLogger, type LogLevel } from "../services/ops/logger.ts";
import {
  chunkedEncoding,
  hashFile,
  hashStream,
  randomBody,
  rawRequest,
  sha256Hex,
  stalledBody,
} from "./fixtures/upload_client.ts";
import { listDir as filesIn } from "./fixtures/temp_dir.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const EMPTY_SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ID = /^[0-9a-f]{32}$/;
const TOKEN = "test-token-0123456789abcdef";
/** Upper bound of every wait on the server; far above what any step needs. */
const WAIT_MS = 20_000;

type LogRecord = Record<string, unknown>;

/** The app served on a loopback port, with its log records. */
interface TestService extends AsyncDisposable {
  readonly app: App;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly addr: { hostname: string; port: number };
  /** DATA_DIR/files */
  readonly filesDir: string;
  /** Every log record so far. */
  readonly records: LogRecord[];
  /** The first record (so far or later) satisfying `predicate`. */
  waitForLog(predicate: (record: LogRecord) => boolean): Promise<LogRecord>;
}

/** Rejects if `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${WAIT_MS} ms: ${what}`)),
      WAIT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the app with `--data-dir <tmp>` and `args`, served on a free
 * loopback port. `prepare` runs on DATA_DIR/files before the app starts.
 * Disposing it shuts the server down, closes the app and removes DATA_DIR.
 */
async function startService(
  args: string[] = [],
  options: {
    logLevel?: LogLevel;
    prepare?: (filesDir: string) => Promise<void>;
  } = {},
): Promise<TestService> {
  const { logLevel = "info", prepare } = options;
  const dataDir = await Deno.makeTempDir({ prefix: "files_test-" });
  const filesDir = join(dataDir, "files");
  const records: LogRecord[] = [];
  let waiters: {
    predicate: (record: LogRecord) => boolean;
    resolve: (record: LogRecord) => void;
  }[] = [];
  const logger = createLogger({
    level: logLevel,
    write(line) {
      const record = JSON.parse(line) as LogRecord;
      records.push(record);
      waiters = waiters.filter((waiter) => {
        if (!waiter.predicate(record)) return true;
        waiter.resolve(record);
        return false;
      });
    },
  });
  let app: App | undefined;
  try {
    if (prepare) {
      await Deno.mkdir(filesDir);
      await prepare(filesDir);
    }
    const result = loadConfig({
      args: [
        "--data-dir",
        dataDir,
        "--upstream-url",
        "http://127.0.0.1:9",
        ...args,
      ],
    });
    assert(!result.help);
    app = await createApp({ config: result.config, logger });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      app.fetch,
    );
    const started = app;
    const addr = { hostname: "127.0.0.1", port: server.addr.port };
    return {
      app: started,
      url: `http://127.0.0.1:${addr.port}`,
      addr,
      filesDir,
      records,
      waitForLog(predicate) {
        const seen = records.find(predicate);
        if (seen) return Promise.resolve(seen);
        const { promise, resolve } = Promise.withResolvers<LogRecord>();
        waiters.push({ predicate, resolve });
        return within(promise, "waiting for a log record");
      },
      async [Symbol.asyncDispose]() {
        await server.shutdown();
        await started.close();
        await Deno.remove(dataDir, { recursive: true });
      },
    };
  } catch (error) {
    await app?.close();
    await Deno.remove(dataDir, { recursive: true });
    throw error;
  }
}

/** What a 201 answers. */
interface Created {
  id: string;
  size: number;
  sha256: string;
  created: string;
  bound: string;
  [key: string]: unknown;
}

/** Uploads `body` and asserts a 201; resolves the JSON and the response. */
async function upload(
  url: string,
  body: BodyInit | null,
  init: RequestInit = {},
): Promise<{ res: Response; json: Created }> {
  const res = await fetch(`${url}/files`, { method: "POST", body, ...init });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return { res, json: JSON.parse(text) as Created };
}

const bytesOf = (text: string) => new TextEncoder().encode(text);
const base64Of = (hex: string) => Buffer.from(hex, "hex").toString("base64");

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

/** Asserts a problem+json response with `status`; resolves its body. */
async function assertProblem(
  res: Response,
  status: number,
): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(body.status, status);
  return body;
}

Deno.test("POST /files stores an empty body: 201, size 0, SHA-256 of nothing", async () => {
  await using service = await startService();
  for (const body of [null, new Uint8Array(0)]) {
    const { res, json } = await upload(service.url, body);
    assert.match(json.id, ID);
    assert.equal(json.size, 0);
    assert.equal(json.sha256, EMPTY_SHA256);
    assert.equal(
      res.headers.get("repr-digest"),
      `sha-256=:${base64Of(EMPTY_SHA256)}:`,
    );
    assert.deepEqual(await hashFile(join(service.filesDir, json.id)), {
      sha256: EMPTY_SHA256,
      size: 0,
    });
    const download = await fetch(`${service.url}/files/${json.id}`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-length"), "0");
    assert.equal((await download.bytes()).byteLength, 0);
  }
});

Deno.test("POST /files stores a small body and answers Location, Repr-Digest and ETag", async () => {
  await using service = await startService();
  const data = bytesOf("hello, upload\n");
  const sha256 = sha256Hex(data);
  const { res, json } = await upload(service.url, data);

  assert.match(json.id, ID);
  assert.equal(json.size, data.byteLength);
  assert.equal(json.sha256, sha256);
  assert.ok(!Number.isNaN(Date.parse(json.created)));
  assert.ok(json.bound === "read" || json.bound === "write");
  assert.equal(json.sha256Base64, undefined);
  assert.equal(res.headers.get("location"), `/files/${json.id}`);
  assert.equal(res.headers.get("repr-digest"), `sha-256=:${base64Of(sha256)}:`);
  assert.equal(res.headers.get("etag"), `"${sha256}"`);
  assert.equal(
    res.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  assert.match(res.headers.get("server-timing") ?? "", /\bwrite;dur=/);

  // Content and sidecar on disk, nothing else.
  assert.deepEqual(await filesIn(service.filesDir), [
    json.id,
    `${json.id}.json`,
  ]);
  assert.deepEqual(await Deno.readFile(join(service.filesDir, json.id)), data);
  assert.deepEqual(
    JSON.parse(
      await Deno.readTextFile(join(service.filesDir, `${json.id}.json`)),
    ),
    { id: json.id, size: json.size, sha256, created: json.created },
  );

  const download = await fetch(
    new URL(res.headers.get("location")!, service.url),
  );
  assert.equal(download.status, 200);
  assert.equal(
    download.headers.get("content-type"),
    "application/octet-stream",
  );
  assert.equal(download.headers.get("content-length"), String(data.byteLength));
  assert.equal(download.headers.get("accept-ranges"), "bytes");
  assert.equal(download.headers.get("etag"), `"${sha256}"`);
  assert.equal(
    download.headers.get("repr-digest"),
    res.headers.get("repr-digest"),
  );
  assert.deepEqual(await download.bytes(), data);
});

Deno.test("POST /files streams 64 MiB of random bytes to disk intact", async () => {
  await using service = await startService();
  const size = 64 * MiB;
  const body = randomBody(size, 64 * KiB);
  const { res, json } = await upload(service.url, body.stream);
  const sent = body.digest();

  assert.equal(body.sent(), size);
  assert.equal(json.size, size);
  assert.equal(json.sha256, sent);
  assert.equal(res.headers.get("repr-digest"), `sha-256=:${base64Of(sent)}:`);
  assert.equal(res.headers.get("location"), `/files/${json.id}`);
  assert.deepEqual(await hashFile(join(service.filesDir, json.id)), {
    sha256: sent,
    size,
  });
  const download = await fetch(`${service.url}/files/${json.id}`);
  assert.equal(download.status, 200);
  assert.equal(download.headers.get("content-length"), String(size));
  assert.deepEqual(await hashStream(download.body!), { sha256: sent, size });
});

Deno.test("POST /files takes a chunked body without Content-Length", async () => {
  await using service = await startService();
  // Odd sizes, across and below the server's 64 KiB read size.
  const pieces = [1, 1000, 70_000, 3, 65_536, 17].map(randomBytes);
  const all = new Uint8Array(Buffer.concat(pieces));
  const sha256 = sha256Hex(all);

  // fetch sends a ReadableStream body with Transfer-Encoding: chunked.
  const { json } = await upload(service.url, ReadableStream.from(pieces));
  assert.equal(json.size, all.byteLength);
  assert.equal(json.sha256, sha256);
  assert.deepEqual(await Deno.readFile(join(service.filesDir, json.id)), all);

  // The same, framed by hand so there is no doubt about the framing.
  const raw = await rawRequest(service.addr, {
    headers: { "transfer-encoding": "chunked" },
    body: chunkedEncoding(pieces),
  });
  assert.equal(raw.status, 201, new TextDecoder().decode(raw.body));
  const rawJson = JSON.parse(new TextDecoder().decode(raw.body)) as Created;
  assert.equal(rawJson.size, all.byteLength);
  assert.equal(rawJson.sha256, sha256);
});

Deno.test("POST /files takes a body streamed under an exact Content-Length", async () => {
  await using service = await startService();
  const pieces = [randomBytes(10_000), randomBytes(100_000), randomBytes(7)];
  const all = new Uint8Array(Buffer.concat(pieces));
  const raw = await rawRequest(service.addr, {
    headers: { "content-length": String(all.byteLength) },
    body: pieces,
  });
  const text = new TextDecoder().decode(raw.body);
  assert.equal(raw.status, 201, text);
  const json = JSON.parse(text) as Created;
  assert.equal(json.size, all.byteLength);
  assert.equal(json.sha256, sha256Hex(all));
  assert.deepEqual(await Deno.readFile(join(service.filesDir, json.id)), all);
});

Deno.test("PUT /files and POST /file are aliases of POST /files", async () => {
  await using service = await startService();
  for (
    const [method, path] of [["PUT", "/files"], ["POST", "/file"]] as const
  ) {
    const data = bytesOf(`${method} ${path}`);
    const res = await fetch(`${service.url}${path}`, { method, body: data });
    const json = JSON.parse(await res.text()) as Created;
    assert.equal(res.status, 201);
    assert.equal(json.sha256, sha256Hex(data));
    assert.equal(res.headers.get("location"), `/files/${json.id}`);
    const download = await fetch(`${service.url}/files/${json.id}`);
    assert.deepEqual(await download.bytes(), data);
  }
  const listed = await (await fetch(`${service.url}/files`)).json();
  assert.equal(listed.items.length, 2);
});

Deno.test("A client abort mid-stream keeps neither a file nor a .part", async () => {
  await using service = await startService([], { logLevel: "debug" });
  const controller = new AbortController();
  const body = stalledBody([randomBytes(64 * KiB), randomBytes(64 * KiB)]);
  const pending = fetch(`${service.url}/files`, {
    method: "POST",
    body: body.stream,
    signal: controller.signal,
  });
  // Some bytes reached the .part file: the upload is under way.
  await service.waitForLog((r) =>
    r.msg === "upload.trace" && r.task === "writer" && r.op === "write"
  );
  assert.equal(service.app.uploads.active, 1);
  assert.equal((await filesIn(service.filesDir)).length, 1);

  controller.abort();
  await assert.rejects(pending, (error: Error) => error.name === "AbortError");
  body.release();
  await within(service.app.uploads.idle(), "the aborted upload to end");

  assert.deepEqual(await filesIn(service.filesDir), []);
  await service.waitForLog((r) => r.msg === "upload.aborted");
});

Deno.test("A Content-Length over MAX_UPLOAD_BYTES gets 413 before any body byte is sent", async () => {
  await using service = await startService(["--max-upload-bytes", `${MiB}`]);
  // Headers only: the answer must come without the server reading a body.
  const raw = await rawRequest(service.addr, {
    headers: {
      "content-length": String(2 ** 40),
      "content-type": "application/octet-stream",
    },
  });
  assert.equal(raw.status, 413);
  assert.match(raw.headers.get("connection") ?? "", /\bclose\b/);
  const body = JSON.parse(new TextDecoder().decode(raw.body));
  assert.equal(body.maxBytes, MiB);
  assert.deepEqual(await filesIn(service.filesDir), []);
});

Deno.test("A chunked body crossing MAX_UPLOAD_BYTES gets 413 and keeps nothing", async () => {
  await using service = await startService(["--max-upload-bytes", `${MiB}`]);
  // The limit itself is fine...
  const { json } = await upload(service.url, randomBody(MiB).stream);
  assert.equal(json.size, MiB);
  // ...one byte more is not.
  const res = await fetch(`${service.url}/files`, {
    method: "POST",
    body: randomBody(MiB + 1).stream,
  });
  const problem = await assertProblem(res, 413);
  assert.equal(problem.maxBytes, MiB);
  assert.deepEqual(await filesIn(service.filesDir), [
    json.id,
    `${json.id}.json`,
  ]);
});

Deno.test("A body shorter than its Content-Length keeps nothing and the server still answers", async () => {
  await using service = await startService();
  const raw = await rawRequest(service.addr, {
    headers: { "content-length": "1000" },
    body: [bytesOf("0123456789")],
    closeWrite: true,
  });
  assert.equal(raw.status, 400, new TextDecoder().decode(raw.body));
  await within(service.app.uploads.idle(), "the short upload to end");
  assert.deepEqual(await filesIn(service.filesDir), []);

  const health = await fetch(`${service.url}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const { json } = await upload(service.url, bytesOf("next"));
  assert.equal(json.size, 4);
});

Deno.test("Content-Digest sha-256: a match is stored, a mismatch or malformed one gets 400", async () => {
  await using service = await startService();
  const data = bytesOf("integrity matters");
  const digest = `sha-256=:${base64Of(sha256Hex(data))}:`;

  const { json } = await upload(service.url, data, {
    headers: { "content-digest": digest },
  });
  assert.equal(json.sha256, sha256Hex(data));
  // Repr-Digest works too, and other algorithms are ignored.
  await upload(service.url, data, { headers: { "repr-digest": digest } });
  await upload(service.url, data, {
    headers: { "content-digest": `sha-512=:${"A".repeat(86)}==:` },
  });
  const kept = await filesIn(service.filesDir);
  assert.equal(kept.length, 6);

  const mismatch = await fetch(`${service.url}/files`, {
    method: "POST",
    body: bytesOf("integrity mattres"),
    headers: { "content-digest": digest },
  });
  assert.equal((await assertProblem(mismatch, 400)).title, "Digest mismatch");

  for (
    const bad of [
      "sha-256=abc",
      "sha-256=:AAAA:",
      `sha-256=:${base64Of(sha256Hex(data))}`,
      "sha-256",
    ]
  ) {
    const res = await fetch(`${service.url}/files`, {
      method: "POST",
      body: data,
      headers: { "content-digest": bad },
    });
    assert.equal(
      (await assertProblem(res, 400)).title,
      "Malformed digest",
      bad,
    );
  }
  assert.deepEqual(await filesIn(service.filesDir), kept);
});

Deno.test("An upload that stalls past UPLOAD_IDLE_TIMEOUT_MS gets 408 and keeps nothing", async () => {
  await using service = await startService([
    "--upload-idle-timeout-ms",
    "300",
  ]);
  const body = stalledBody([randomBytes(1000)]);
  try {
    const res = await fetch(`${service.url}/files`, {
      method: "POST",
      body: body.stream,
    });
    const problem = await assertProblem(res, 408);
    assert.match(String(problem.detail), /300 ms/);
    assert.equal(res.headers.get("connection"), "close");
  } finally {
    body.release();
  }
  assert.deepEqual(await filesIn(service.filesDir), []);
});

Deno.test("Past MAX_CONCURRENT_UPLOADS a new upload gets 503 with Retry-After", async () => {
  await using service = await startService([
    "--max-concurrent-uploads",
    "2",
  ], { logLevel: "debug" });
  const stalled = [
    stalledBody([randomBytes(1000)]),
    stalledBody([
      randomBytes(2000),
    ]),
  ];
  const pending = stalled.map((body) =>
    fetch(`${service.url}/files`, { method: "POST", body: body.stream })
  );
  try {
    // Both are running: each wrote its first chunk.
    const writers = new Set<unknown>();
    await service.waitForLog((r) => {
      if (r.msg === "upload.trace" && r.op === "write") writers.add(r.id);
      return writers.size === 2;
    });
    assert.equal(service.app.uploads.active, 2);

    const refused = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytesOf("third"),
    });
    await assertProblem(refused, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
  } finally {
    for (const body of stalled) body.release();
  }
  const done = await Promise.all(pending);
  for (const res of done) {
    assert.equal(res.status, 201);
    await res.body?.cancel();
  }
  // The slots are free again.
  await upload(service.url, bytesOf("fourth"));
});

Deno.test("Simultaneous uploads with Content-Length cannot pass MAX_CONCURRENT_UPLOADS", async () => {
  // Regression: the limit was checked before an await on the free-space
  // lookup and the slot taken after it, so uploads arriving together all
  // passed the check.
  await using service = await startService([
    "--max-concurrent-uploads",
    "2",
  ], { logLevel: "debug" });
  const count = 6;
  const gate = Promise.withResolvers<void>();
  async function* body() {
    yield bytesOf("01234");
    await gate.promise;
    yield bytesOf("56789");
  }
  const pending = Array.from(
    { length: count },
    () =>
      rawRequest(service.addr, {
        headers: { "content-length": "10" },
        body: body(),
      }),
  );
  let results;
  try {
    // Every request is either refused or running (it read its first bytes).
    const running = new Set<unknown>();
    let refused = 0;
    await service.waitForLog((r) => {
      if (r.msg === "upload.trace" && r.op === "read") running.add(r.id);
      if (r.msg === "request" && r.status === 503) refused++;
      return running.size + refused === count;
    });
    assert.equal(running.size, 2);
    assert.equal(service.app.uploads.active, 2);
  } finally {
    gate.resolve();
    results = await Promise.all(pending);
  }
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [201, 201, 503, 503, 503, 503]);
});

Deno.test("UPLOAD_TOKEN guards POST and DELETE but not GET or HEAD", async () => {
  await using service = await startService(["--upload-token", TOKEN]);
  const data = bytesOf("secret-free content");
  const post = (headers: Record<string, string>) =>
    fetch(`${service.url}/files`, { method: "POST", body: data, headers });

  const missing = await post({});
  await assertProblem(missing, 401);
  assert.equal(
    missing.headers.get("www-authenticate"),
    'Bearer realm="async-api"',
  );
  for (
    const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${btoa(`user:${TOKEN}`)}`,
      TOKEN,
    ]
  ) {
    const wrong = await post({ authorization });
    await assertProblem(wrong, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Bearer /);
  }
  assert.deepEqual(await filesIn(service.filesDir), []);

  const { json } = await upload(service.url, data, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const download = await fetch(`${service.url}/files/${json.id}`);
  assert.deepEqual(await download.bytes(), data);
  const head = await fetch(`${service.url}/files/${json.id}`, {
    method: "HEAD",
  });
  assert.equal(head.status, 200);
  await head.body?.cancel();
  const list = await fetch(`${service.url}/files`);
  assert.equal((await list.json()).items.length, 1);

  const del = (headers: Record<string, string>) =>
    fetch(`${service.url}/files/${json.id}`, { method: "DELETE", headers });
  const noToken = await del({});
  await assertProblem(noToken, 401);
  assert.equal(
    noToken.headers.get("www-authenticate"),
    'Bearer realm="async-api"',
  );
  const wrongToken = await del({ authorization: "Bearer not-the-token" });
  await assertProblem(wrongToken, 401);
  assert.match(
    wrongToken.headers.get("www-authenticate") ?? "",
    /error="invalid_token"/,
  );
  assert.equal(
    (await fetch(`${service.url}/files/${json.id}`, {
      method: "HEAD",
    })).status,
    200,
  );
  const deleted = await del({ authorization: `Bearer ${TOKEN}` });
  assert.equal(deleted.status, 204);
  await deleted.body?.cancel();
  assert.deepEqual(await filesIn(service.filesDir), []);
});

Deno.test("GET /files lists committed files in pages; a bad limit or cursor gets 400", async () => {
  await using service = await startService();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await upload(service.url, bytesOf(`file ${i}`))).json.id);
  }
  // A .part of an upload in flight is not listed.
  await Deno.writeFile(
    join(service.filesDir, `${"0".repeat(32)}.part`),
    new Uint8Array([1]),
  );

  const all = await fetch(`${service.url}/files`);
  assert.equal(all.status, 200);
  assert.equal(all.headers.get("link"), null);
  const everything = await all.json();
  assert.equal(everything.nextCursor, undefined);
  const order = everything.items.map((item: Created) => item.id);
  assert.deepEqual([...order].sort(), [...ids].sort());
  for (const item of everything.items) {
    assert.deepEqual(Object.keys(item).sort(), [
      "created",
      "id",
      "sha256",
      "size",
    ]);
  }

  const paged: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const query = new URLSearchParams({ limit: "2" });
    if (cursor !== undefined) query.set("cursor", cursor);
    const res = await fetch(`${service.url}/files?${query}`);
    assert.equal(res.status, 200);
    const page = await res.json();
    pages++;
    assert.ok(page.items.length <= 2);
    paged.push(...page.items.map((item: Created) => item.id));
    cursor = page.nextCursor;
    if (cursor === undefined) {
      assert.equal(res.headers.get("link"), null);
    } else {
      assert.equal(
        res.headers.get("link"),
        `</files?limit=2&cursor=${encodeURIComponent(cursor)}>; rel="next"`,
      );
    }
  } while (cursor !== undefined && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(paged, order);

  for (const query of ["limit=0", "limit=1001", "limit=abc", "limit=1.5"]) {
    const res = await fetch(`${service.url}/files?${query}`);
    await assertProblem(res, 400);
  }
  await assertProblem(await fetch(`${service.url}/files?cursor=nope`), 400);
});

Deno.test("GET /files/:id serves single byte ranges, 416 and 304", async () => {
  await using service = await startService();
  const data = randomBytes(100);
  const { json } = await upload(service.url, data);
  const url = `${service.url}/files/${json.id}`;
  const etag = `"${json.sha256}"`;

  const cases: [string, number, number][] = [
    ["bytes=0-9", 0, 9],
    ["bytes=-5", 95, 99],
    ["bytes=10-", 10, 99],
    ["bytes=90-1000", 90, 99],
    ["bytes=-1000", 0, 99],
  ];
  for (const [range, start, end] of cases) {
    const res = await fetch(url, { headers: { range } });
    assert.equal(res.status, 206, range);
    assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/100`);
    assert.equal(res.headers.get("content-length"), String(end - start + 1));
    assert.deepEqual(await res.bytes(), data.subarray(start, end + 1), range);
  }

  for (
    const range of ["bytes=100-", "bytes=100-200", "bytes=9-5", "bytes=-0"]
  ) {
    const res = await fetch(url, { headers: { range } });
    await assertProblem(res, 416);
    assert.equal(res.headers.get("content-range"), "bytes */100", range);
  }

  // Several ranges or another unit: the whole file.
  for (const range of ["bytes=0-1,5-6", "items=0-1"]) {
    const res = await fetch(url, { headers: { range } });
    assert.equal(res.status, 200, range);
    assert.deepEqual(await res.bytes(), data);
  }

  // If-Range with the current ETag honours the range; a stale one does not.
  const current = await fetch(url, {
    headers: { range: "bytes=0-9", "if-range": etag },
  });
  assert.equal(current.status, 206);
  await current.body?.cancel();
  const stale = await fetch(url, {
    headers: { range: "bytes=0-9", "if-range": `"${"0".repeat(64)}"` },
  });
  assert.equal(stale.status, 200);
  assert.deepEqual(await stale.bytes(), data);

  const notModified = await fetch(url, { headers: { "if-none-match": etag } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.get("etag"), etag);
  assert.equal((await notModified.bytes()).byteLength, 0);
  const changed = await fetch(url, {
    headers: { "if-none-match": `"${"0".repeat(64)}"` },
  });
  assert.equal(changed.status, 200);
  assert.deepEqual(await changed.bytes(), data);
});

Deno.test("HEAD /files/:id gives the length and headers but no body", async () => {
  await using service = await startService();
  const data = randomBytes(12_345);
  const { json } = await upload(service.url, data);
  const url = `${service.url}/files/${json.id}`;

  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "12345");
  assert.equal(head.headers.get("etag"), `"${json.sha256}"`);
  assert.equal(head.headers.get("accept-ranges"), "bytes");
  assert.equal((await head.bytes()).byteLength, 0);

  const ranged = await fetch(url, {
    method: "HEAD",
    headers: { range: "bytes=0-9" },
  });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get("content-length"), "10");
  assert.equal(ranged.headers.get("content-range"), "bytes 0-9/12345");
  assert.equal((await ranged.bytes()).byteLength, 0);

  const missing = await fetch(`${service.url}/files/${"0".repeat(32)}`, {
    method: "HEAD",
  });
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("Invalid file ids get 404 and never reach outside DATA_DIR/files", async () => {
  await using service = await startService();
  const data = bytesOf("the only file");
  const { json } = await upload(service.url, data);
  const before = await filesIn(service.filesDir);

  const ids = [
    encodeURIComponent("../etc/passwd"),
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2F" + json.id,
    json.id.toUpperCase(),
    json.id.slice(1),
    `${json.id}0`,
    `${json.id}.json`,
    `${json.id}.part`,
    `${json.id}%00`,
  ];
  for (const id of ids) {
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const res = await fetch(`${service.url}/files/${id}`, { method });
      assert.equal(res.status, 404, `${method} ${id}`);
      await res.body?.cancel();
    }
  }
  // Paths the server normalises before routing: still nothing served.
  for (
    const path of [
      "/files/../etc/passwd",
      "/files/%2e%2e/%2e%2e/etc/passwd",
      "/files/./../../etc/passwd",
    ]
  ) {
    const raw = await rawRequest(service.addr, {
      method: "GET",
      path,
      headers: { connection: "close" },
    });
    assert.equal(raw.status, 404, path);
  }
  // A bare `%2e%2e` segment is a dot-segment to URL parsers, client and
  // server alike: `/files/%2e%2e` is `/`, the greeting, not a file.
  const dotDot = await rawRequest(service.addr, {
    method: "GET",
    path: "/files/%2e%2e",
    headers: { connection: "close" },
  });
  assert.equal(dotDot.status, 200);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(dotDot.body)), {
    Hello: "World",
  });
  assert.deepEqual(await filesIn(service.filesDir), before);
  const download = await fetch(`${service.url}/files/${json.id}`);
  assert.deepEqual(await download.bytes(), data);
});

Deno.test("DELETE /files/:id removes the file; then GET, HEAD and DELETE get 404", async () => {
  await using service = await startService();
  const { json } = await upload(service.url, bytesOf("short-lived"));
  const url = `${service.url}/files/${json.id}`;

  const deleted = await fetch(url, { method: "DELETE" });
  assert.equal(deleted.status, 204);
  await deleted.body?.cancel();
  assert.deepEqual(await filesIn(service.filesDir), []);

  await assertProblem(await fetch(url), 404);
  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.status, 404);
  await head.body?.cancel();
  await assertProblem(await fetch(url, { method: "DELETE" }), 404);
  const list = await (await fetch(`${service.url}/files`)).json();
  assert.deepEqual(list.items, []);
});

Deno.test("createApp sweeps .part leftovers and orphan sidecars, keeps committed files", async () => {
  const committed = bytesOf("survived the crash");
  const meta = {
    id: "a".repeat(32),
    size: committed.byteLength,
    sha256: sha256Hex(committed),
    created: "2026-01-01T00:00:00.000Z",
  };
  const leftovers = [
    `${"b".repeat(32)}.part`,
    `${"c".repeat(32)}.json.part`,
    `${"d".repeat(32)}.json`, // sidecar whose content never got renamed in
  ];
  await using service = await startService([], {
    async prepare(dir) {
      await Deno.writeFile(join(dir, meta.id), committed);
      await Deno.writeTextFile(
        join(dir, `${meta.id}.json`),
        JSON.stringify(meta),
      );
      for (const name of leftovers) {
        await Deno.writeFile(join(dir, name), randomBytes(1000));
      }
      // Not a leftover of ours: left alone.
      await Deno.writeTextFile(join(dir, "notes.txt"), "keep me");
    },
  });

  assert.deepEqual(await filesIn(service.filesDir), [
    meta.id,
    `${meta.id}.json`,
    "notes.txt",
  ]);
  const swept = service.records.find((r) => r.msg === "files.swept");
  assert.equal(swept?.removed, leftovers.length);

  const download = await fetch(`${service.url}/files/${meta.id}`);
  assert.equal(download.status, 200);
  assert.deepEqual(await download.bytes(), committed);
  const list = await (await fetch(`${service.url}/files`)).json();
  assert.deepEqual(list.items, [meta]);
});

Deno.test("LOG_LEVEL=debug traces the reader's read/put and the writer's get/write", async () => {
  await using service = await startService([], { logLevel: "debug" });
  const size = 2 * MiB + 123;
  const body = randomBody(size, 64 * KiB);
  const { json } = await upload(service.url, body.stream);
  assert.equal(json.sha256, body.digest());

  const trace = service.records.filter((r) =>
    r.msg === "upload.trace" && r.id === json.id
  );
  const kinds = new Set(trace.map((r) => `${r.task}.${r.op}`));
  for (
    const kind of [
      "reader.read",
      "reader.put",
      "writer.get",
      "writer.write",
      "commit.commit",
    ]
  ) {
    assert.ok(kinds.has(kind), `missing ${kind} in ${[...kinds]}`);
  }
  for (const record of trace) {
    assert.equal(record.level, "debug");
    assert.equal(typeof record.ms, "number");
    assert.equal(typeof record.time, "string");
    if (record.task !== "commit") {
      assert.equal(typeof record.bytes, "number");
      assert.equal(typeof record.queued, "number");
    }
  }
  const sum = (task: string, op: string) =>
    trace.filter((r) => r.task === task && r.op === op)
      .reduce((total, r) => total + (r.bytes as number), 0);
  assert.equal(sum("reader", "read"), size);
  assert.equal(sum("reader", "put"), size);
  assert.equal(sum("writer", "get"), size);
  assert.equal(sum("writer", "write"), size);
  // The writer's last get is the end of the queue.
  const gets = trace.filter((r) => r.task === "writer" && r.op === "get");
  assert.equal(gets.at(-1)?.bytes, 0);
  assert.equal(trace.at(-1)?.task, "commit");

  const created = service.records.find((r) =>
    r.msg === "upload.created" && r.id === json.id
  );
  assert.equal(created?.bound, json.bound);
  assert.equal(created?.size, size);
});

Deno.test("At LOG_LEVEL=info an upload writes no trace records", async () => {
  await using service = await startService();
  const { json } = await upload(service.url, randomBytes(200 * KiB));
  assert.ok(service.records.some((r) => r.msg === "upload.created"));
  assert.ok(!service.records.some((r) => r.msg === "upload.trace"));
  assert.equal(
    createHash("sha256").update(
      await Deno.readFile(join(service.filesDir, json.id)),
    ).digest("hex"),
    json.sha256,
  );
});
