/**
 * What the upload routes do besides answering (the test service of
 * `fixtures/files_service.ts`): the sweep of `.part` leftovers and orphan
 * sidecars when the app starts, and the reader/writer trace records at
 * LOG_LEVEL=debug (and none at info).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { randomBody, sha256Hex } from "./fixtures/upload_client.ts";
import { listDir as filesIn } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import {
  bytesOf,
  KiB,
  MiB,
  randomBytes,
  startService,
  upload,
} from "./fixtures/files_service.ts";

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

  // The sweep runs after the start, in the background, before the index's
  // build: /readyz answers 200 once both are done.
  await until(async () => {
    const res = await fetch(`${service.url}/readyz`);
    await res.body?.cancel();
    return res.status === 200;
  }, "the start's sweep and build done (/readyz 200)");
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
