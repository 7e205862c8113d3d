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
import { exitWithin, signalTaken } from "./fixtures/deno_serve.ts";
import { assertStoppedUpload, rawRequest } from "./fixtures/upload_client.ts";
import { until } from "./fixtures/until.ts";
import {
  serveOnUpstream,
  untilEveryWorkerAnswers,
} from "./fixtures/upstream_service.ts";

const CHUNK = 64 * 1024;
const CHUNKS = 32;

Deno.test("deno serve --parallel: SIGTERM during an upload answers it 503 with Retry-After, nothing kept, exit 0", async () => {
  await using started = await serveOnUpstream(
    { LOG_LEVEL: "debug" },
    "serve_sigterm_upload-",
  );
  const { served, dataDir } = started;
  await untilEveryWorkerAnswers(started, "/posts/1");
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
    await signalTaken(served, "SIGTERM");
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
});
