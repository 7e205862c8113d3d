/**
 * Unit tests of the multipart adapter: which media types are taken, and
 * that the file stream is pulled through with backpressure (the body is
 * read only as fast as the file is) and stops the body when cancelled.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FormDataError, multipartFile } from "../services/uploads/form_data.ts";
import { uploadMediaKind } from "../services/uploads/media_type.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const encoder = new TextEncoder();

Deno.test("uploadMediaKind: forms are parsed, urlencoded and other multipart types refused (an urlencoded PUT: untyped bytes), the rest raw", () => {
  assert.equal(uploadMediaKind(null), "raw");
  assert.equal(uploadMediaKind("application/octet-stream"), "raw");
  assert.equal(uploadMediaKind("image/png"), "raw");
  assert.equal(uploadMediaKind("text/plain;charset=UTF-8"), "raw");
  assert.equal(
    uploadMediaKind("Multipart/Form-Data; boundary=----x"),
    "multipart",
  );
  assert.equal(uploadMediaKind("multipart/mixed; boundary=x"), "unsupported");
  assert.equal(
    uploadMediaKind("application/x-www-form-urlencoded"),
    "unsupported",
  );
  // wget --method=PUT --body-file labels every file so: its bytes, untyped.
  assert.equal(
    uploadMediaKind("application/x-www-form-urlencoded", { method: "PUT" }),
    "unlabelled",
  );
  assert.equal(
    uploadMediaKind("multipart/mixed; boundary=x", { method: "PUT" }),
    "unsupported",
  );
});

/**
 * A form with one file part of `fileBytes` bytes, made as it is pulled in
 * 64 KiB chunks; `pulled` counts the body bytes handed out.
 */
function lazyForm(fileBytes: number) {
  const head = encoder.encode(
    '--B\r\ncontent-disposition: form-data; name="f"; filename="big.bin"\r\n' +
      "content-type: application/x-test\r\n\r\n",
  );
  const tail = encoder.encode("\r\n--B--\r\n");
  const hash = createHash("sha256");
  let made = 0;
  let pulled = 0;
  let cancelled = false;
  let stage = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      let chunk: Uint8Array;
      if (stage === 0) {
        chunk = head;
        stage = 1;
      } else if (made < fileBytes) {
        chunk = new Uint8Array(Math.min(64 * KiB, fileBytes - made));
        chunk.fill(made & 0xff);
        hash.update(chunk);
        made += chunk.byteLength;
      } else if (stage === 1) {
        chunk = tail;
        stage = 2;
      } else {
        controller.close();
        return;
      }
      pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get pulled() {
      return pulled;
    },
    get cancelled() {
      return cancelled;
    },
    digest: () => hash.digest("hex"),
  };
}

Deno.test("multipartFile: the body is read only as fast as the file stream is", async () => {
  const source = lazyForm(16 * MiB);
  const form = multipartFile(source.stream, "multipart/form-data; boundary=B");
  const reader = form.stream.getReader();
  const hash = createHash("sha256");
  let consumed = 0;
  let mostAhead = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    consumed += value.byteLength;
    // Give the parser time to run ahead if it were not held back.
    if (consumed < 2 * MiB) await new Promise((r) => setTimeout(r, 1));
    mostAhead = Math.max(mostAhead, source.pulled - consumed);
  }
  assert.equal(consumed, 16 * MiB);
  assert.equal(hash.digest("hex"), source.digest());
  assert.ok(mostAhead < 1 * MiB, `read ${mostAhead} bytes ahead of the file`);
  assert.deepEqual(form.describe(), {
    filename: "big.bin",
    contentType: "application/x-test",
  });
});

/** What `multipartFile` keeps of a file part sent with `partType`. */
async function describedWith(partType: string) {
  const body = `--B\r\nContent-Disposition: form-data; name="file"; ` +
    `filename="a.txt"\r\nContent-Type: ${partType}\r\n\r\nhello\r\n--B--\r\n`;
  const form = multipartFile(
    new Response(body).body!,
    "multipart/form-data; boundary=B",
  );
  await new Response(form.stream).arrayBuffer();
  return form.describe();
}

Deno.test("multipartFile: a part's Content-Type is kept only when it is a media type (RFC 6838), not 70,000 characters of anything", async () => {
  for (
    const type of ["text/plain", "application/vnd.api+json", "image/svg+xml"]
  ) {
    assert.deepEqual(await describedWith(type), {
      filename: "a.txt",
      contentType: type,
    }, type);
  }
  for (
    const type of [
      "x".repeat(70_000),
      `text/${"p".repeat(200)}`,
      "text",
      "text/plain/extra",
      "<script>/x",
    ]
  ) {
    assert.deepEqual(await describedWith(type), { filename: "a.txt" }, type);
  }
});

Deno.test("multipartFile: cancelling the file stream cancels the body", async () => {
  const source = lazyForm(4 * MiB);
  const form = multipartFile(source.stream, "multipart/form-data; boundary=B");
  const reader = form.stream.getReader();
  await reader.read();
  await reader.cancel(new Error("stop"));
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(source.cancelled);
  assert.ok(source.pulled < 1 * MiB);
});

Deno.test("multipartFile: a type without a boundary throws FormDataError at once", () => {
  const body = new ReadableStream<Uint8Array>();
  assert.throws(
    () => multipartFile(body, "multipart/form-data"),
    FormDataError,
  );
});
