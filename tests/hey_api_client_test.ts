/**
 * A validating client generated from the served `/openapi.json` by
 * `@hey-api/openapi-ts` (its fetch client, its zod schemas, and its SDK
 * checking every request and answer against them), as its users make one:
 * `deno check` passes on it and on a program that calls the real service
 * with it: an item read, a raw upload of a `Blob`, and its download; then
 * json-server's relations (`_embed`, `_expand`: undeclared, they did not
 * type-check), an upload followed through the generated Server-Sent Events
 * call (each event's data checked by its zod schema) and conditional and
 * ranged downloads.
 * The upload's body and the download's answer were 3.0's
 * `type: string, format: binary`, which its zod plugin reads as a string:
 * the client refused the `Blob` before sending it, and the download's.
 *
 * Needs `deno install` (npm:@hey-api/openapi-ts, npm:zod).
 *
 * @module
 */

import assert from "node:assert/strict";
import { withHeyApiClient } from "./fixtures/hey_api_client.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

/** The program, written next to the generated `client/`. */
const PROGRAM = `
import { client } from "./client/client.gen.ts";
import { downloadFile, getPost, uploadFile } from "./client/sdk.gen.ts";

client.setConfig({ baseUrl: Deno.args[0]! });
const hex = async (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
const failed = (what: string, error: unknown) =>
  error instanceof Error ? \`\${what}: \${error.message}\` : JSON.stringify(error);

const post = await getPost({ path: { id: 1 } });
const title: string | undefined = post.data?.title;
const bytes = new Uint8Array(50_000).map((_, i) => (i * 7) % 256);
let upload;
try {
  upload = await uploadFile({ body: new Blob([bytes]) });
} catch (error) {
  upload = { data: undefined, error: failed("upload", error), response: undefined };
}
const id = upload.data?.id;
let download;
try {
  download = id === undefined
    ? undefined
    : await downloadFile({ path: { id }, parseAs: "arrayBuffer" });
} catch (error) {
  download = { data: undefined, error: failed("download", error), response: undefined };
}
const got = download?.data;
console.log(JSON.stringify({
  title,
  upload: {
    status: upload.response?.status,
    error: upload.error,
    size: upload.data?.size,
    stored: upload.data?.sha256,
    sent: await hex(bytes.buffer),
  },
  download: {
    status: download?.response?.status,
    error: download?.error,
    sha256: got instanceof ArrayBuffer ? await hex(got) : typeof got,
  },
}));
`;

/**
 * The second program: relations, the event stream of an upload it sends
 * slowly (256 KiB every 100 ms, so `progress` comes), and a range, an
 * unsatisfiable one and a revalidation of the stored file.
 */
const PROGRAM_WATCH = `
import { client } from "./client/client.gen.ts";
import {
  downloadFile,
  getPost,
  listPosts,
  uploadFile,
  watchUploads,
} from "./client/sdk.gen.ts";

client.setConfig({ baseUrl: Deno.args[0]! });
const post = await getPost({
  path: { id: 1 },
  query: { _embed: ["comments"], _expand: ["user"] },
});
const list = await listPosts({ query: { _limit: 2, _expand: ["user"] } });
const id = Array.from(crypto.getRandomValues(new Uint8Array(16)))
  .map((b) => b.toString(16).padStart(2, "0")).join("");
const events: string[] = [];
// The upload starts once the stream is open: its first event (retry:).
const open = Promise.withResolvers<void>();
const watched = (async () => {
  const { stream } = await watchUploads({
    query: { id },
    sseMaxRetryAttempts: 1,
    onSseError: (error) => events.push(\`error: \${error}\`),
    onSseEvent: (event) => {
      open.resolve();
      if (event.event !== undefined) events.push(event.event);
    },
  });
  for await (const _ of stream) { /* onSseEvent saw it */ }
})();
await open.promise;
const piece = 256 * 1024;
const slow = new ReadableStream<Uint8Array<ArrayBuffer>>({
  async start(controller) {
    for (let i = 0; i < 12; i++) {
      controller.enqueue(new Uint8Array(piece).fill(i));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    controller.close();
  },
});
const upload = await uploadFile({
  body: slow as unknown as Blob,
  headers: { "Upload-Id": id, "Content-Type": "application/octet-stream" },
});
await watched;
const range = await downloadFile({
  path: { id },
  headers: { Range: "bytes=0-9" },
  parseAs: "arrayBuffer",
});
const beyond = await downloadFile({
  path: { id },
  headers: { Range: "bytes=99999999-" },
});
const again = await downloadFile({
  path: { id },
  headers: { "If-None-Match": range.response?.headers.get("etag") ?? "" },
});
console.log(JSON.stringify({
  post: [post.data?.comments?.length, typeof post.data?.user?.username],
  list: list.data?.map((p) => p.user?.id),
  upload: upload.response?.status,
  progress: events.filter((e) => e === "progress").length > 0,
  others: events.filter((e) => e !== "progress"),
  range: [range.response?.status, (range.data as ArrayBuffer).byteLength],
  beyond: beyond.response?.status,
  again: again.response?.status,
}));
`;

Deno.test("a client generated by @hey-api/openapi-ts (zod, validating) type-checks, uploads a Blob and downloads it, reads relations, follows an upload", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  await withHeyApiClient(service.url, async (run) => {
    const result = JSON.parse(await run(PROGRAM));
    assert.equal(typeof result.title, "string");
    assert.deepEqual(result.upload, {
      status: 201,
      size: 50_000,
      stored: result.upload.sent,
      sent: result.upload.sent,
    });
    assert.deepEqual(result.download, {
      status: 200,
      sha256: result.upload.sent,
    });
    assert.deepEqual(JSON.parse(await run(PROGRAM_WATCH)), {
      post: [5, "string"],
      list: [1, 1],
      upload: 201,
      progress: true,
      others: ["done"],
      range: [206, 10],
      beyond: 416,
      again: 304,
    });
  });
});
