/**
 * Uploads sent with a `Content-Encoding` (`curl -T f -H 'Content-Encoding:
 * gzip'`, a page that compresses with `CompressionStream`): the coding is
 * part of the representation sent (RFC 9110 8.4), so the file is what it
 * decodes to, as the JSON writes take it. Before, the coded bytes were
 * stored and served as the file, under its name and with their SHA-256.
 * gzip and deflate are decoded as they stream, `MAX_UPLOAD_BYTES` counts
 * the decoded bytes (a bomb gets 413, in bounded memory), another coding
 * is 415 with `Accept-Encoding`, a body not in its coding 400, and a
 * `Content-Digest` is of the bytes sent (RFC 9530).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { encoded, gzipOfZeros } from "./fixtures/coded_bodies.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import {
  assertProblem,
  base64Of,
  bytesOf,
  MiB,
  randomBytes,
} from "./fixtures/files_service.ts";

/** Some bytes that compress, and some that do not. */
function fileBytes(): Uint8Array<ArrayBuffer> {
  const text = bytesOf("row,of,a,csv,file\n".repeat(40_000));
  const bytes = new Uint8Array(text.byteLength + 300_000);
  bytes.set(text);
  bytes.set(randomBytes(300_000), text.byteLength);
  return bytes;
}

/** Files in DATA_DIR/files (stored ones and `.part`s). */
async function filesIn(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dataDir}/files`)) {
      names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

Deno.test("an upload in gzip or deflate, raw or a form, sized or chunked, is stored as the file it decodes to", async () => {
  await using served = await serveApp({});
  const file = fileBytes();
  const sha256 = sha256Hex(file);
  for (const coding of ["gzip", "deflate"] as const) {
    const body = await encoded(file, coding);
    const form = new FormData();
    form.append("file", new File([file], "rows.csv", { type: "text/csv" }));
    const formRequest = new Request("http://x/", {
      method: "POST",
      body: form,
    });
    const sent = [
      { what: "raw, sized", body, type: "application/octet-stream" },
      { what: "raw, chunked", body: new Blob([body]).stream(), type: "" },
      {
        what: "a form",
        body: await encoded(
          new Uint8Array(await formRequest.arrayBuffer()),
          coding,
        ),
        type: formRequest.headers.get("content-type")!,
      },
    ];
    for (const { what, body, type } of sent) {
      const where = `${coding}, ${what}`;
      const res = await fetch(`${served.url}/files`, {
        method: "POST",
        body,
        headers: {
          "content-encoding": coding.toUpperCase(),
          ...(type ? { "content-type": type } : {}),
        },
      });
      const created = await res.json();
      assert.equal(res.status, 201, `${where}: ${JSON.stringify(created)}`);
      assert.equal(created.size, file.byteLength, where);
      assert.equal(created.sha256, sha256, where);
      assert.equal(
        res.headers.get("repr-digest"),
        `sha-256=:${base64Of(sha256)}:`,
        where,
      );
      const got = await fetch(`${served.url}/files/${created.id}`);
      assert.equal(got.headers.get("content-encoding"), null, where);
      assert.equal(
        sha256Hex(new Uint8Array(await got.arrayBuffer())),
        sha256,
        where,
      );
    }
  }
});

Deno.test("a coded upload's Content-Digest is of the bytes sent: checked before anything is kept", async () => {
  await using served = await serveApp({});
  const file = fileBytes();
  const body = await encoded(file, "gzip");
  const post = (digestOf: Uint8Array) =>
    fetch(`${served.url}/files`, {
      method: "POST",
      body,
      headers: {
        "content-encoding": "gzip",
        "content-digest": `sha-256=:${base64Of(sha256Hex(digestOf))}:`,
      },
    });
  const good = await post(body);
  const created = await good.json();
  assert.equal(good.status, 201, JSON.stringify(created));
  assert.equal(created.sha256, sha256Hex(file));
  // The file's own digest is not that of what was sent.
  const wrong = await post(file);
  const problem = await assertProblem(wrong, 400);
  assert.equal(problem.title, "Digest mismatch");
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.equal(list.items.length, 1);
});

Deno.test("another coding is 415 with Accept-Encoding, and a body not in its coding 400; nothing is kept", async () => {
  await using served = await serveApp({});
  for (const coding of ["br", "zstd", "gzip, gzip", "x-gzip", "compress"]) {
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      body: "hello",
      headers: { "content-encoding": coding },
    });
    await assertProblem(res, 415);
    assert.equal(res.headers.get("accept-encoding"), "gzip, deflate", coding);
  }
  const gzip = await encoded(fileBytes(), "gzip");
  const broken = [
    bytesOf("not gzip at all"),
    gzip.subarray(0, gzip.byteLength >> 1),
    Uint8Array.from([...gzip.subarray(0, 1000), ...randomBytes(5000)]),
  ];
  for (const body of broken) {
    const res = await fetch(`${served.url}/files`, {
      method: "POST",
      body,
      headers: { "content-encoding": "gzip" },
    });
    const problem = await assertProblem(res, 400);
    assert.match(String(problem.detail), /gzip/);
  }
  // identity is no coding.
  const plain = await fetch(`${served.url}/files`, {
    method: "POST",
    body: "hello",
    headers: { "content-encoding": "identity" },
  });
  assert.equal((await plain.json()).size, 5);
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.equal(list.items.length, 1);
  assert.deepEqual(
    served.records.filter((r) => r.level === "error"),
    [],
  );
});

cephTest(
  "s3: an upload in gzip spanning parts is stored in the bucket as the file it decodes to",
  async () => {
    await using ceph = await sharedCeph();
    await using served = await serveApp({ args: s3Args(ceph) });
    // Parts are 5 MiB: the decoded file spans three of them.
    const file = new Uint8Array(12 * MiB);
    file.set(fileBytes());
    file.set(randomBytes(MiB), 7 * MiB);
    const body = await encoded(file, "gzip");
    assert.ok(body.byteLength < 5 * MiB, `${body.byteLength}`);
    const res = await fetch(`${served.url}/files`, {
      method: "PUT",
      body,
      headers: { "content-encoding": "gzip" },
    });
    const created = await res.json();
    assert.equal(res.status, 201, JSON.stringify(created));
    assert.equal(created.size, file.byteLength);
    assert.equal(created.sha256, sha256Hex(file));
    const got = await fetch(`${served.url}/files/${created.id}`);
    assert.equal(
      sha256Hex(new Uint8Array(await got.arrayBuffer())),
      created.sha256,
    );
    const removed = await fetch(`${served.url}/files/${created.id}`, {
      method: "DELETE",
    });
    await removed.body?.cancel();
    assert.equal(removed.status, 204);
  },
);

/** The peak resident set of `pid` so far (VmHWM), in bytes. */
async function peakRssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmHWM:\s+(\d+) kB$/m);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

Deno.test("a gzip bomb gets 413 once its decoded bytes pass MAX_UPLOAD_BYTES, in bounded memory", async () => {
  // 1 GiB of zeros is ~1 MiB of gzip: each 64 KiB the server reads of it
  // decodes to ~64 MiB.
  const bomb = await gzipOfZeros(1024 * MiB);
  assert.ok(bomb.byteLength < 2 * MiB, `${bomb.byteLength}`);
  const dataDir = await Deno.makeTempDir({ prefix: "upload-coding-" });
  try {
    await using service = await spawnService([
      "--data-dir",
      dataDir,
      "--max-upload-bytes",
      String(256 * MiB),
    ], {
      // As the start task runs it.
      denoArgs: [
        "-A",
        "--v8-flags=--max-semi-space-size=8,--heap-growing-percent=30",
      ],
    });
    const pid = service.child.pid;
    // A warm-up upload of the same kind, within the limit.
    const small = await encoded(new Uint8Array(16 * MiB), "gzip");
    const warm = await fetch(`${service.url}/files`, {
      method: "POST",
      body: small,
      headers: { "content-encoding": "gzip" },
    });
    assert.equal((await warm.json()).size, 16 * MiB);
    const before = await peakRssOf(pid);
    const res = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bomb,
      headers: { "content-encoding": "gzip" },
    });
    const problem = await assertProblem(res, 413);
    assert.equal(problem.maxBytes, 256 * MiB);
    const grown = (await peakRssOf(pid) - before) / MiB;
    // Each 64 KiB read decoded at once (64 MiB a chunk) grew it by 179 MiB
    // in two runs; decoded 8 KiB at a time (at most ~8 MiB a chunk), by
    // 83-100 MiB: the queue (8 MiB), a few chunks, and decoded chunks not
    // yet collected (a raw upload reads into reused buffers: ~23 MiB).
    assert.ok(grown < 136, `peak RSS grew by ${grown.toFixed(1)} MiB`);
    assert.deepEqual(
      (await filesIn(dataDir)).filter((n) => n.endsWith(".part")),
      [],
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
