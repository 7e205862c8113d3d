/**
 * A form upload's bytes outside its file part (a preamble, fields, an
 * epilogue) are bounded: the parser drops them, so they counted towards
 * neither `MAX_UPLOAD_BYTES` nor the rate floor's bytes, and a client
 * sending an endless preamble at loopback speed (394 MB in 10 s, 1.6 s of
 * the service's CPU, an upload slot held) got a 408 that said it had sent
 * "0 bytes, then nothing" once the rate window passed; a gzip-coded form
 * whose preamble inflated to 500 MB (2 MB sent) was decoded whole (4.6 s,
 * 1.5 s of CPU) before its 400.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { serveTempApp } from "./fixtures/served_app.ts";
import { rawRequest } from "./fixtures/upload_client.ts";
import { multipartFile } from "../services/uploads/form_data.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const encoder = new TextEncoder();
const FILE_HEAD = encoder.encode(
  '--B\r\ncontent-disposition: form-data; name="f"; filename="a.bin"\r\n\r\n',
);

/** `head`, then `filler` bytes for ever; counts what was taken. */
function endless(head: Uint8Array) {
  const filler = new Uint8Array(64 * KiB).fill(0x70);
  const sent = { bytes: 0 };
  async function* body() {
    yield head;
    sent.bytes += head.byteLength;
    // Past what the service takes by far: a bound, not a timer.
    while (sent.bytes < 2048 * MiB) {
      yield filler;
      sent.bytes += filler.byteLength;
    }
  }
  return { body: body(), sent };
}

const SHAPES: Record<string, Uint8Array> = {
  preamble: new Uint8Array(),
  "a field's value": encoder.encode(
    '--B\r\ncontent-disposition: form-data; name="note"\r\n\r\n',
  ),
  "the epilogue after the file": encoder.encode(
    '--B\r\ncontent-disposition: form-data; name="f"; filename="a.bin"\r\n\r\n' +
      "hello\r\n--B--\r\n",
  ),
};

Deno.test("a form whose bytes outside the file part never end is refused 400 after about 1 MiB of them, not 408 after the rate window", async () => {
  // A short window, so the code before this fails fast (its 408).
  await using served = await serveTempApp(["--upload-rate-window-ms", "1000"]);
  for (const [shape, head] of Object.entries(SHAPES)) {
    const { body, sent } = endless(head);
    const res = await rawRequest(served.addr, {
      headers: {
        "content-type": "multipart/form-data; boundary=B",
        "content-length": String(512 * MiB),
      },
      body,
    });
    const text = new TextDecoder().decode(res.body);
    assert.equal(res.status, 400, `${shape}: ${text}`);
    assert.match(
      JSON.parse(text).detail,
      /more than 1048576 bytes outside its file part/,
      shape,
    );
    // Taken: the bound, what the parser and the sockets hold besides.
    assert.ok(sent.bytes < 32 * MiB, `${shape}: ${sent.bytes} bytes sent`);
  }
  assert.deepEqual(
    [...Deno.readDirSync(served.filesDir)].map((e) => e.name),
    [],
  );
});

Deno.test("a gzip-coded form whose preamble inflates to 256 MiB is refused once 1 MiB of it is decoded, not decoded whole", async () => {
  await using served = await serveTempApp();
  // ~256 KB sent; every decoded byte before the file part is preamble.
  const bomb = gzipSync(new Uint8Array(256 * MiB), { level: 1 });
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    headers: {
      "content-type": "multipart/form-data; boundary=B",
      "content-encoding": "gzip",
    },
    body: bomb,
  });
  const problem = await res.json();
  assert.equal(res.status, 400, JSON.stringify(problem));
  assert.match(problem.detail, /bytes outside its file part/);
});

Deno.test("a form with 512 KiB of fields around a 4 MiB file is stored: the bound leaves room for maxFields fields of maxFieldBytes", async () => {
  await using served = await serveTempApp();
  const form = new FormData();
  for (let i = 0; i < 16; i++) form.append(`f${i}`, "v".repeat(16 * KiB));
  form.append("file", new Blob([new Uint8Array(4 * MiB).fill(7)]), "a.bin");
  for (let i = 16; i < 32; i++) form.append(`f${i}`, "v".repeat(16 * KiB));
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    body: form,
  });
  const created = await res.json();
  assert.equal(res.status, 201, JSON.stringify(created));
  assert.equal(created.size, 4 * MiB);
});

Deno.test("multipartFile: maxOtherBytes must be a whole number", () => {
  const body = () => new Response(FILE_HEAD).body!;
  for (const maxOtherBytes of [-1, 1.5, NaN]) {
    assert.throws(
      () =>
        multipartFile(body(), "multipart/form-data; boundary=B", {
          maxOtherBytes,
        }),
      RangeError,
    );
  }
});
