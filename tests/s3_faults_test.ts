/**
 * The S3 store slow, stalling or refusing, against a real Ceph radosgw
 * (a loopback TCP pass-through in front of it stalls on demand): uploads
 * and listing answer 503 problem+json with `Retry-After` within
 * `S3_TIMEOUT_MS` (twice that when the upload was under way: the part,
 * then the abort), nothing half-written is visible, the cached
 * JSONPlaceholder routes are unaffected; a store over its quota is a 503
 * too, keeping nothing; `S3_TIMEOUT_MS` bounds waits for
 * the store, not a download's length (its credentials refused or its
 * bucket deleted while the service runs are a 503 too:
 * s3_credentials_refused_test.ts, s3_bucket_missing_test.ts).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { bytesOf, cephTest, s3Args } from "./fixtures/s3_app.ts";
import { serveApp, type ServedApp } from "./fixtures/served_app.ts";
import { S3Storage } from "../services/storage/s3.ts";
import { behindProxy } from "./fixtures/s3_proxied.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";
import { within } from "./fixtures/files_service.ts";

const MiB = 1024 * 1024;
// Long enough for a 5 MiB part on a loaded machine.
const TIMEOUT_MS = 2500;
// A hang detector, not a wait: ten times the budget. That an answer came
// by the budget is shown by the store still being stalled when it came
// and by the log's cause, not by timing it.
const HANG_MS = 10 * TIMEOUT_MS;

/** `fetch`, its body read; the status, headers and text. */
async function answerOf(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

function assertUnavailable(answer: Awaited<ReturnType<typeof answerOf>>): void {
  assert.equal(answer.status, 503, answer.text);
  assert.match(answer.headers.get("content-type") ?? "", /problem\+json/);
  assert.ok(Number(answer.headers.get("retry-after")) > 0);
  assert.doesNotMatch(answer.text, /127\.0\.0\.1/);
}

/**
 * Asserts the log's first `files.storage_unavailable` line gives
 * `S3_TIMEOUT_MS` as the cause: the store sent nothing for that long.
 */
function assertTimedOut(served: ServedApp): void {
  const line = served.records.find((r) =>
    r.msg === "files.storage_unavailable"
  );
  assert.ok(line, "no files.storage_unavailable line");
  assert.match(
    JSON.stringify(line.error),
    new RegExp(`sent nothing for ${TIMEOUT_MS} ms`),
  );
}

/** No object is visible (a multipart upload in progress is none). */
async function assertNothingVisible(ceph: Ceph): Promise<void> {
  assert.deepEqual((await bucketContents(ceph)).keys, []);
}

cephTest(
  "s3: a stalled store: uploads and listing 503 with Retry-After within S3_TIMEOUT_MS, cached routes unaffected",
  async () => {
    await using ceph = await sharedCeph();
    await using upstream = startFixtureUpstream();
    await using app = await behindProxy(ceph, {
      timeoutMs: TIMEOUT_MS,
      args: ["--upstream-url", upstream.url],
    });
    const { proxy, served } = app;
    assert.equal((await answerOf(`${served.url}/posts/1`)).status, 200);
    proxy.stall();
    try {
      let uploadAnswered = false;
      const uploading = within(
        answerOf(`${served.url}/files`, {
          method: "POST",
          body: bytesOf(6 * MiB),
        }),
        "the upload's answer",
        HANG_MS,
      ).finally(() => uploadAnswered = true);
      await until(
        () => served.app.uploads.active === 1,
        "the upload under way, on the stalled store",
      );
      // Meanwhile the JSONPlaceholder routes answer at their own pace:
      // while the upload still waits on the store.
      const cached = await answerOf(`${served.url}/posts/1`);
      const fresh = await answerOf(`${served.url}/users/2`);
      assert.equal(cached.status, 200);
      assert.equal(fresh.status, 200);
      assert.equal(uploadAnswered, false, "the routes waited for the upload");
      // Both 503s come while the store is still stalled: by the timeout.
      assertUnavailable(await uploading);
      assertTimedOut(served);
      assertUnavailable(
        await within(answerOf(`${served.url}/files`), "the listing", HANG_MS),
      );
    } finally {
      proxy.resume();
    }
    await assertNothingVisible(ceph);
  },
);

cephTest(
  "s3: a store stalling mid-upload: 503 within twice S3_TIMEOUT_MS, nothing visible, the sweep takes the rest",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
    const { proxy, served } = app;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 30) return controller.close();
        controller.enqueue(bytesOf(MiB, sent));
      },
    });
    const uploading = answerOf(`${served.url}/files`, { method: "POST", body });
    try {
      // Once the multipart upload exists, the store hangs.
      await until(
        async () => (await bucketContents(ceph)).uploads.length > 0,
        "the multipart upload listed",
      );
      proxy.stall();
      // The part that hangs, then the abort that hangs: each ended by the
      // timeout, the store still stalled.
      assertUnavailable(await within(uploading, "the upload's 503", HANG_MS));
      assertTimedOut(served);
    } finally {
      proxy.resume();
    }
    await assertNothingVisible(ceph);
    assert.deepEqual(await (await fetch(`${served.url}/files`)).json(), {
      items: [],
    });
    // What the abort could not remove, the next start's sweep does. What
    // the pass-through held (the part, the abort, a heartbeat) reaches the
    // store after the resume, at no set moment: sweep until it has landed
    // and been taken, rather than sleeping for it.
    const files = served.app.files;
    assert.ok(files instanceof S3Storage);
    await until(async () => {
      await files.sweep(0);
      const left = await bucketContents(ceph);
      return left.keys.length === 0 && left.uploads.length === 0;
    }, "the sweep leaving the bucket empty");
  },
);

cephTest(
  "s3: S3_TIMEOUT_MS bounds waits for the store, not a download's length; a store stalling mid-download cuts it off",
  async () => {
    await using ceph = await sharedCeph();
    await using app = await behindProxy(ceph, { timeoutMs: TIMEOUT_MS });
    const { proxy, served } = app;
    const bytes = bytesOf(24 * MiB, 9);
    const stored = await fetch(`${served.url}/files`, {
      method: "POST",
      body: bytes,
    });
    assert.equal(stored.status, 201, await stored.clone().text());
    const created = await stored.json();
    // A slow client: 24 MiB at 4 MiB/s, well past the timeout in all.
    const started = performance.now();
    const res = await fetch(`${served.url}/files/${created.id}`);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of res.body!) {
      hash.update(chunk);
      size += chunk.byteLength;
      // Behind the pace (a slow store), no wait: a negative one is Node's
      // TimeoutNegativeWarning.
      const ahead = size / (4 * MiB) * 1000 - (performance.now() - started);
      if (ahead > 0) await sleep(ahead);
    }
    const ms = performance.now() - started;
    assert.equal(size, bytes.byteLength);
    assert.equal(hash.digest("hex"), created.sha256);
    assert.ok(ms > 2 * TIMEOUT_MS, `the download took ${ms.toFixed(0)} ms`);

    // The store hangs after the first bytes: the download breaks off.
    const stalled = await fetch(`${served.url}/files/${created.id}`);
    const reader = stalled.body!.getReader();
    await reader.read();
    proxy.stall();
    const drained = (async () => {
      while (!(await reader.read()).done) {
        // Drains what was already on its way.
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      drained.then(() => "ended", () => "broke"),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve("hung"), HANG_MS);
      }),
    ]);
    clearTimeout(timer);
    // A download that hangs (no timeout on the body) fails, not hangs.
    if (outcome === "hung") await reader.cancel();
    proxy.resume();
    await drained.catch(() => {});
    // It broke off while the store was still stalled: by the timeout.
    assert.equal(outcome, "broke");
  },
);

cephTest(
  "s3: a store over its quota: uploads 503 with Retry-After, nothing kept, stored files still served",
  async () => {
    await using ceph = await sharedCeph();
    await using served = await serveApp({ args: s3Args(ceph) });
    const kept = await (await fetch(`${served.url}/files`, {
      method: "POST",
      body: bytesOf(1000),
    })).json();
    // 1 MiB for the bucket (Ceph refuses with QuotaExceeded past it).
    const bucket = `--bucket=${ceph.bucket}`;
    await ceph.admin(
      "quota",
      "set",
      "--quota-scope=bucket",
      bucket,
      "--max-size=1048576",
    );
    await ceph.admin("quota", "enable", "--quota-scope=bucket", bucket);
    const refused = await answerOf(`${served.url}/files`, {
      method: "POST",
      body: bytesOf(6 * MiB),
    });
    assertUnavailable(refused);
    assert.match(JSON.parse(refused.text).detail, /quota/);
    assert.deepEqual(await bucketContents(ceph), {
      keys: [`files/${kept.id}`, `meta/${kept.id}.json`],
      uploads: [],
    });
    const listed = await (await fetch(`${served.url}/files`)).json();
    assert.deepEqual(listed.items.map((f: { id: string }) => f.id), [kept.id]);
    const got = await fetch(`${served.url}/files/${kept.id}`);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytesOf(1000));
  },
);
