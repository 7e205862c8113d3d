/**
 * SIGTERM under `deno serve --parallel` while an upload's body still
 * arrives. `deno serve` owns the signals: its shutdown cuts the request
 * bodies still arriving (the reader fails with "Cannot read request body as
 * underlying resource unavailable"), so the upload cannot finish. It used to
 * answer 400 "Upload aborted: the request body ended abnormally", which
 * blames the client and says nothing of retrying; the worker now stops its
 * uploads at the signal, as `main.ts` does when its grace runs out: 503
 * problem+json with `Retry-After` and `Connection: close`, nothing kept,
 * and the process exits 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  exitWithin,
  JOBS,
  startServe,
  waitUntilUp,
} from "./fixtures/deno_serve.ts";
import { assertStoppedUpload, rawRequest } from "./fixtures/upload_client.ts";
import { until } from "./fixtures/until.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const CHUNK = 64 * 1024;
const CHUNKS = 32;

Deno.test("deno serve --parallel: SIGTERM during an upload answers it 503 with Retry-After, nothing kept, exit 0", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "serve_sigterm_upload-" });
  using client = Deno.createHttpClient({});
  await using upstream = startFixtureUpstream();
  try {
    await using served = startServe({
      DATA_DIR: dataDir,
      UPSTREAM_URL: upstream.url,
      LOG_LEVEL: "debug",
    });
    await waitUntilUp(served, client);
    // Every worker answers before the signal (a worker still starting
    // takes it once started: serve_sigterm_starting_test). Each has its own
    // cache, so each one's first GET /posts/1 reaches the upstream once;
    // new connections spread over the workers.
    await until(
      async () => {
        const res = await fetch(`${served.url}/posts/1`, {
          headers: { connection: "close" },
        });
        await res.body?.cancel();
        return upstream.hits("/posts/1") >= JOBS;
      },
      "every worker answers",
      30_000,
    );
    const signalled = Promise.withResolvers<void>();
    // Half the body, then the rest only after the signal: the upload is
    // certainly running when it comes.
    const body = async function* () {
      for (let i = 0; i < CHUNKS; i++) {
        if (i === CHUNKS / 2) await signalled.promise;
        yield new Uint8Array(CHUNK).fill(i);
      }
    };
    const { hostname, port } = new URL(served.url);
    const upload = rawRequest({ hostname, port: Number(port) }, {
      headers: {
        "content-length": String(CHUNK * CHUNKS),
        "content-type": "application/octet-stream",
      },
      body: body(),
    });
    try {
      await until(
        () =>
          served.records().some((r) =>
            r.msg === "upload.trace" && r.task === "reader" && r.op === "read"
          ),
        "the upload is read",
        20_000,
      );
      served.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      signalled.resolve();
    }
    const result = await upload;
    const text = assertStoppedUpload(result);
    assert.match(text, /shutting down/, text);
    assert.ok(result.headers.has("retry-after"), text);
    const status = await exitWithin(served, 15_000);
    assert.equal(status?.code, 0, served.output());
    const kept = [];
    for await (const entry of Deno.readDir(join(dataDir, "files"))) {
      kept.push(entry.name);
    }
    assert.deepEqual(kept, []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
