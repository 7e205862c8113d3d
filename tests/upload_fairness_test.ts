/**
 * Tests that slow or greedy clients cannot hold every upload slot: the
 * minimum average rate (`UPLOAD_MIN_BYTES_PER_SECOND` past
 * `UPLOAD_RATE_WINDOW_MS`, 408) and the per-client cap
 * (`MAX_UPLOADS_PER_CLIENT`, 429), in the pipeline and over real HTTP.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { clientAddress } from "../routes/pipeline.ts";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { UploadTooSlowError } from "../services/uploads/errors.ts";
import { receiveUpload } from "../services/uploads/pipeline.ts";
import { RateFloor } from "../services/uploads/rate.ts";
import { serveTempApp } from "./fixtures/served_app.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";
import { within } from "./fixtures/files_service.ts";
import {
  rawRequest,
  sha256Hex,
  stalledBody,
} from "./fixtures/upload_client.ts";

const KiB = 1024;

/** Polls `condition` every 10 ms; rejects after `timeoutMs`. */
async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out: ${what}`);
    await delay(10);
  }
}

/** One byte every `everyMs`, `count` times: a slowloris body. */
async function* trickle(count: number, everyMs: number) {
  for (let i = 0; i < count; i++) {
    if (i > 0) await delay(everyMs);
    yield new Uint8Array([i & 0xff]);
  }
}

function assertProblem(
  res: { status: number; headers: Headers; body: Uint8Array },
  status: number,
): Record<string, unknown> {
  const text = new TextDecoder().decode(res.body);
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(body.status, status);
  return body;
}

async function fetched(res: Response) {
  return {
    status: res.status,
    headers: res.headers,
    body: new Uint8Array(await res.arrayBuffer()),
  };
}

Deno.test("RateFloor: applies past the grace window only, 0 disables it", () => {
  const floor = new RateFloor({ minBytesPerSecond: 1000, graceMs: 2000 });
  assert.equal(floor.tooSlow(0, 1999), false);
  assert.equal(floor.tooSlow(1999, 2000), true);
  assert.equal(floor.tooSlow(2000, 2000), false);
  assert.equal(floor.tooSlow(5000, 5001), true);
  // 10 KB last 10 s at 1 KB/s; below the grace window, the window counts.
  assert.equal(floor.msUntilTooSlow(10_000, 4000), 6000);
  assert.equal(floor.msUntilTooSlow(0, 500), 1500);
  assert.equal(floor.msUntilTooSlow(0, 9000), 0);
  const none = new RateFloor({ minBytesPerSecond: 0, graceMs: 0 });
  assert.equal(none.tooSlow(0, 1e9), false);
  assert.equal(none.msUntilTooSlow(0, 1e9), Infinity);
  assert.equal(RateFloor.rate(512, 2000), 256);
  assert.throws(() => new RateFloor({ minBytesPerSecond: -1 }), RangeError);
  assert.throws(() => new RateFloor({ graceMs: NaN }), RangeError);
});

Deno.test("receiveUpload: a body below the rate floor fails with UploadTooSlowError and keeps nothing", async () => {
  await withTempDir(async (dir) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    // One byte every 50 ms (20 B/s), for ever unless cancelled.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => timer = setTimeout(resolve, 50));
        if (!cancelled) controller.enqueue(new Uint8Array([1]));
      },
      cancel() {
        cancelled = true;
        clearTimeout(timer);
      },
    }, { highWaterMark: 0 });
    await assert.rejects(
      within(
        receiveUpload(body, {
          begin: () => new LocalDiskStorage({ dir }).begin(),
          maxBytes: 1024 * KiB,
          minBytesPerSecond: 1000,
          rateGraceMs: 300,
        }),
        "the rate floor refusing a body that drips for ever",
      ),
      (error: unknown) => {
        // The rate floor's error, not the 30 s idle timeout's: a condition,
        // where a bound on the time taken stood before.
        assert.ok(error instanceof UploadTooSlowError, String(error));
        assert.equal(error.minBytesPerSecond, 1000);
        assert.ok(error.bytesPerSecond < 100, String(error.bytesPerSecond));
        return true;
      },
    );
    assert.ok(cancelled);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("receiveUpload: time blocked on a slow disk does not count against the rate floor", async () => {
  await withTempDir(async (dir) => {
    const data = new Uint8Array(256 * KiB).map((_, i) => i & 0xff);
    const chunks = Array.from(
      { length: 4 },
      (_, i) => data.slice(i * 64 * KiB, (i + 1) * 64 * KiB),
    );
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (index < chunks.length) controller.enqueue(chunks[index++]!);
        else controller.close();
      },
    }, { highWaterMark: 0 });
    // ~800 ms of disk for 256 KiB: 320 KB/s of wall time, far below the
    // 1 MB/s floor; the network delivered it all at once.
    const storage = new LocalDiskStorage({ dir });
    const result = await receiveUpload(body, {
      begin: async () => {
        const upload = await storage.begin();
        return {
          id: upload.id,
          async write(p) {
            await delay(200);
            await upload.write(p);
          },
          commit: (content) => upload.commit(content),
          abort: () => upload.abort(),
        };
      },
      maxBytes: 1024 * KiB,
      queueBytes: 64 * KiB,
      writeBytes: 64 * KiB,
      minBytesPerSecond: 1_000_000,
      rateGraceMs: 50,
    });
    assert.equal(result.size, data.byteLength);
    assert.equal(result.sha256, sha256Hex(data));
    assert.ok(result.durationMs >= 600, String(result.durationMs));
  });
});

Deno.test("Slow bodies lose their upload slots after UPLOAD_RATE_WINDOW_MS: 408, nothing kept, real uploads get in", async () => {
  await using served = await serveTempApp([
    "--max-concurrent-uploads",
    "3",
    "--max-uploads-per-client",
    "0",
    "--upload-min-bytes-per-second",
    "1024",
    "--upload-rate-window-ms",
    "800",
  ]);
  // Three clients at 1 B/s, each declaring 300 bytes (5 min): before the
  // floor they held every slot to the end, the idle timer never firing.
  // Without the floor they hang, caught by the generous bound (a hang
  // detector); with it, each gets its 408 soon after the 800 ms window.
  const slow = Array.from({ length: 3 }, () =>
    rawRequest(served.addr, {
      headers: { "content-length": "300" },
      body: trickle(300, 1_000),
      timeoutMs: 60_000,
    }));
  try {
    await waitUntil(
      () => served.app.uploads.active === 3,
      "three slow uploads running",
    );
    const locked = await fetch(`${served.url}/files`, {
      method: "POST",
      body: new Uint8Array(10),
    });
    assertProblem(await fetched(locked), 503);
  } finally {
    const results = await Promise.allSettled(slow);
    for (const result of results) {
      assert.equal(
        result.status,
        "fulfilled",
        result.status === "rejected" ? String(result.reason) : "",
      );
      const res = (result as PromiseFulfilledResult<
        Awaited<(typeof slow)[number]>
      >).value;
      const problem = assertProblem(res, 408);
      assert.equal(problem.minBytesPerSecond, 1024);
      assert.equal(res.headers.get("connection"), "close");
    }
  }
  await waitUntil(() => served.app.uploads.active === 0, "slots freed");
  const data = crypto.getRandomValues(new Uint8Array(64 * KiB));
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    body: data,
  });
  const created = JSON.parse(await res.text());
  assert.equal(res.status, 201);
  assert.equal(created.sha256, sha256Hex(data));
  assert.deepEqual(await listDir(served.filesDir), [
    created.id,
    `${created.id}.json`,
  ]);
});

Deno.test("MAX_UPLOADS_PER_CLIENT: one address past the cap gets 429, other addresses still get in", async () => {
  await using served = await serveTempApp([
    "--max-uploads-per-client",
    "2",
    "--max-concurrent-uploads",
    "10",
  ]);
  const stalled = [stalledBody([new Uint8Array(1000)]), stalledBody([])];
  const pending = stalled.map((body) =>
    fetch(`${served.url}/files`, { method: "POST", body: body.stream })
  );
  try {
    await waitUntil(
      () => served.app.uploads.active === 2,
      "two uploads of 127.0.0.1 running",
    );
    assert.equal(served.app.uploads.activeFor("127.0.0.1"), 2);
    const refused = await fetch(`${served.url}/files`, {
      method: "POST",
      body: new Uint8Array(10),
    });
    const problem = assertProblem(await fetched(refused), 429);
    assert.match(String(problem.detail), /2 uploads/);
    assert.equal(refused.headers.get("retry-after"), "1");

    // Another client is not held back by this one.
    const other = await served.app.fetch(
      new Request(`${served.url}/files`, {
        method: "POST",
        body: new Uint8Array(10),
      }),
      {
        remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 40000 },
        completed: Promise.resolve(),
      },
    );
    assert.equal(other.status, 201, await other.text());
  } finally {
    for (const body of stalled) body.release();
  }
  for (const res of await Promise.all(pending)) {
    assert.equal(res.status, 201, await res.text());
  }
  // The slots of 127.0.0.1 are free again.
  const again = await fetch(`${served.url}/files`, {
    method: "POST",
    body: new Uint8Array(10),
  });
  assert.equal(again.status, 201, await again.text());
  assert.equal(served.app.uploads.activeFor("127.0.0.1"), 0);
});

Deno.test("clientAddress: IPv4-mapped IPv6 counts as IPv4; no TCP peer is unknown", () => {
  const info = (remoteAddr: Deno.Addr) =>
    ({
      remoteAddr,
      completed: Promise.resolve(),
    }) as Deno.ServeHandlerInfo;
  assert.equal(
    clientAddress(
      info({ transport: "tcp", hostname: "::ffff:10.1.2.3", port: 1 }),
    ),
    "10.1.2.3",
  );
  assert.equal(
    clientAddress(info({ transport: "tcp", hostname: "2001:db8::1", port: 1 })),
    "2001:db8::1",
  );
  assert.equal(
    clientAddress(info({ transport: "unix", path: "/tmp/s" })),
    undefined,
  );
  assert.equal(clientAddress(undefined), undefined);
});
