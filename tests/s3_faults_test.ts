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
import { serveApp } from "./fixtures/served_app.ts";
import { S3Storage } from "../services/storage/s3.ts";
import { behindProxy } from "./fixtures/s3_proxied.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";

const MiB = 1024 * 1024;
// Long enough for a 5 MiB part on a loaded machine.
const TIMEOUT_MS = 2500;
// Room for a loaded machine on top of the budget.
const MARGIN_MS = 2500;

/** `fetch`, its body read; the status, headers, text and time taken. */
async function timed(url: string, init: RequestInit = {}) {
  const started = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    ms: performance.now() - started,
  };
}

function assertUnavailable(
  answer: Awaited<ReturnType<typeof timed>>,
  budgetMs: number,
): void {
  assert.equal(answer.status, 503, answer.text);
  assert.match(answer.headers.get("content-type") ?? "", /problem\+json/);
  assert.ok(Number(answer.headers.get("retry-after")) > 0);
  assert.doesNotMatch(answer.text, /127\.0\.0\.1/);
  assert.ok(
    answer.ms < budgetMs + MARGIN_MS,
    `answered after ${answer.ms.toFixed(0)} ms (budget ${budgetMs} ms)`,
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
    assert.equal((await timed(`${served.url}/posts/1`)).status, 200);
    proxy.stall();
    try {
      const uploading = timed(`${served.url}/files`, {
        method: "POST",
        body: bytesOf(6 * MiB),
      });
      // Meanwhile the JSONPlaceholder routes answer at their own pace.
      const cached = await timed(`${served.url}/posts/1`);
      const fresh = await timed(`${served.url}/users/2`);
      assert.equal(cached.status, 200);
      assert.equal(fresh.status, 200);
      assert.ok(cached.ms < 1000 && fresh.ms < 1000, `${cached.ms} ms`);
      assertUnavailable(await uploading, TIMEOUT_MS);
      assertUnavailable(await timed(`${served.url}/files`), TIMEOUT_MS);
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
    const uploading = timed(`${served.url}/files`, { method: "POST", body });
    let stalledAt = 0;
    try {
      // Once the multipart upload exists, the store hangs.
      await until(
        async () => (await bucketContents(ceph)).uploads.length > 0,
        "the multipart upload listed",
      );
      proxy.stall();
      stalledAt = performance.now();
      const answer = await uploading;
      // The part that hangs, then the abort that hangs.
      assertUnavailable(
        { ...answer, ms: performance.now() - stalledAt },
        2 * TIMEOUT_MS,
      );
    } finally {
      proxy.resume();
    }
    await assertNothingVisible(ceph);
    assert.deepEqual(await (await fetch(`${served.url}/files`)).json(), {
      items: [],
    });
    // What the abort could not remove, the next start's sweep does.
    await sleep(100);
    const files = served.app.files;
    assert.ok(files instanceof S3Storage);
    await files.sweep(0);
    assert.deepEqual(await bucketContents(ceph), { keys: [], uploads: [] });
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
    const broke = performance.now();
    const drained = (async () => {
      while (!(await reader.read()).done) {
        // Drains what was already on its way.
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      drained.then(() => "ended", () => "broke"),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve("hung"), TIMEOUT_MS + MARGIN_MS);
      }),
    ]);
    clearTimeout(timer);
    // A download that hangs (no timeout on the body) fails, not hangs.
    if (outcome === "hung") await reader.cancel();
    proxy.resume();
    await drained.catch(() => {});
    assert.equal(outcome, "broke");
    assert.ok(performance.now() - broke < TIMEOUT_MS + MARGIN_MS);
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
    const refused = await timed(`${served.url}/files`, {
      method: "POST",
      body: bytesOf(6 * MiB),
    });
    assertUnavailable(refused, TIMEOUT_MS);
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
