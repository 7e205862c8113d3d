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
import { curlUpload } from "./fixtures/curl_upload.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { peakRssOf, resetPeakRss, rssOf } from "./fixtures/process_memory.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { runTool } from "./fixtures/tool.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";
import {
  assertProblem,
  base64Of,
  bytesOf,
  MiB,
  randomBytes,
} from "./fixtures/files_service.ts";
import { tempDir } from "./fixtures/temp_dir.ts";

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

/** Runs `sh -c script` in `dir`, for the gzip tools' own output. */
async function sh(dir: string, script: string): Promise<void> {
  const out = await runTool("sh", ["-c", script], {
    cwd: dir,
    install: "apt-get install -y gzip pigz tabix",
  });
  assert.equal(out.code, 0, `${script}: ${out.stderr}`);
}

Deno.test("a gzip of several members (gzip >> appended, pigz, bgzip), sent by curl, is stored as their decoded bytes joined", async () => {
  await using served = await serveApp({});
  await using temp = await tempDir({ prefix: "upload-members-" });
  const dir = temp.path;
  const [a, b] = [fileBytes(), randomBytes(200_000)];
  await Deno.writeFile(`${dir}/a`, a);
  await Deno.writeFile(`${dir}/b`, b);
  // gzip -c >> appends a member, as logrotate and `gzip -c` into one
  // archive do; pigz -i writes one member too; bgzip (BGZF) writes one
  // member per 64 KiB block and an empty member at the end.
  await sh(dir, "gzip -c a > appended.gz && gzip -c b >> appended.gz");
  await sh(dir, "gzip -c a > mixed.gz && pigz -i -c b >> mixed.gz");
  await sh(dir, "cat a b | bgzip -c > blocked.gz");
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  for (const name of ["appended.gz", "mixed.gz", "blocked.gz"]) {
    const out = await runTool("curl", [
      "-sS",
      "-H",
      "Content-Encoding: gzip",
      "-T",
      `${dir}/${name}`,
      `${served.url}/files`,
    ], { install: "apt-get install -y curl" });
    assert.equal(out.code, 0, out.stderr);
    const created = JSON.parse(out.stdout);
    assert.equal(created.size, joined.byteLength, `${name}: ${out.stdout}`);
    assert.equal(created.sha256, sha256Hex(joined), name);
  }
});

Deno.test("a gzip or deflate padded with zeros (tar, dd), sent by curl, is stored as its decoded bytes; other bytes after its end are 400", async () => {
  await using served = await serveApp({});
  await using temp = await tempDir({ prefix: "upload-padded-" });
  const dir = temp.path;
  const a = fileBytes();
  await Deno.writeFile(`${dir}/a`, a);
  // truncate rounds up to tar's 10 KiB record with zeros; dd appends a
  // block of them; pigz -z writes the zlib format (HTTP's deflate).
  await sh(dir, "gzip -c a > tar.gz && truncate -s %10240 tar.gz");
  await sh(
    dir,
    "pigz -z -c a > dd.zz && dd if=/dev/zero bs=4096 count=3 >> dd.zz",
  );
  await sh(dir, "gzip -c a > junk.gz && printf junk >> junk.gz");
  await sh(dir, "cp tar.gz late.gz && printf x >> late.gz");
  const sent = [
    { name: "tar.gz", coding: "gzip", status: 201 },
    { name: "dd.zz", coding: "deflate", status: 201 },
    { name: "junk.gz", coding: "gzip", status: 400 },
    { name: "late.gz", coding: "gzip", status: 400 },
  ];
  for (const { name, coding, status } of sent) {
    const out = await runTool("curl", [
      "-sS",
      "-w",
      "\n%{http_code}",
      "-H",
      `Content-Encoding: ${coding}`,
      "-T",
      `${dir}/${name}`,
      `${served.url}/files`,
    ], { install: "apt-get install -y curl" });
    assert.equal(out.code, 0, out.stderr);
    const [body, code] = out.stdout.split("\n");
    assert.equal(Number(code), status, `${name}: ${body}`);
    if (status !== 201) continue;
    const created = JSON.parse(body!);
    assert.equal(created.size, a.byteLength, name);
    assert.equal(created.sha256, sha256Hex(a), name);
  }
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.equal(list.items.length, 2);
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

Deno.test({
  name:
    "gzip bombs sent by curl get 413 at MAX_UPLOAD_BYTES, raising peak RSS by no more than the queue + 32 MiB, as a raw upload",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const queueBytes = 8 * MiB;
    // 128 MiB, not 512 (a 256 MiB bomb, not 1 GiB): with the decoder of
    // before (DecompressionStream) the peak grew by 205-206 MiB at 64, 128
    // and 256 MiB alike, one 64 KiB read of the bomb decoding to ~64 MiB
    // at once; the size only cost time (12 s -> 3-6 s here).
    const maxBytes = 128 * MiB;
    await using tempDataDir = await tempDir({ prefix: "upload-coding-" });
    const dataDir = tempDataDir.path;
    // 256 MiB of zeros is ~256 KiB of gzip: each 64 KiB the server reads
    // of it decodes to ~64 MiB.
    const bomb = `${dataDir}/bomb.gz`;
    await Deno.writeFile(bomb, await gzipOfZeros(2 * maxBytes));
    const warm = `${dataDir}/warm.gz`;
    await Deno.writeFile(warm, await encoded(randomBytes(MiB), "gzip"));
    await using service = await spawnService([], {
      env: {
        DATA_DIR: `${dataDir}/data`,
        MAX_UPLOAD_BYTES: String(maxBytes),
        UPLOAD_QUEUE_BYTES: String(queueBytes),
      },
      // As the start task runs it.
      denoArgs: [
        "-A",
        "--v8-flags=--max-semi-space-size=8,--heap-growing-percent=30",
      ],
    });
    const pid = service.child.pid;
    const coded = ["Content-Encoding: gzip", "Expect:"];
    // A warm-up upload of the same kind (it starts the hash worker).
    assert.equal(
      await curlUpload(service.url, warm, { headers: coded }),
      201,
    );
    const idle = await rssOf(pid);
    await resetPeakRss(pid);
    // Twice: what the first leaves behind must not add to the second.
    for (const round of [1, 2]) {
      assert.equal(
        await curlUpload(service.url, bomb, { headers: coded }),
        413,
      );
      const grown = (await peakRssOf(pid) - idle) / MiB;
      // Decoded by DecompressionStream, each decode's output a buffer of
      // its own (at most ~8 MiB fed 8 KiB at a time): +85 to +103 MiB
      // for one bomb at 256 MiB to 3,000 MiB; decoded into the reader's
      // own buffers, +22 to +24 MiB, as a raw upload.
      assert.ok(
        grown <= (queueBytes + 32 * MiB) / MiB,
        `round ${round}: peak RSS grew by ${grown.toFixed(1)} MiB (idle ${
          (idle / MiB).toFixed(1)
        } MiB)`,
      );
    }
    // Nothing of them is kept.
    assert.deepEqual(
      (await filesIn(`${dataDir}/data`)).filter((n) => n.endsWith(".part")),
      [],
    );
  },
});
