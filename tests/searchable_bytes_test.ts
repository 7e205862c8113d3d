/**
 * Tests of the form parser's body chunks (`SearchableBytes`): their
 * `indexOf` answers what `Buffer`'s does, and a form whose file is full of
 * near-boundaries, cut into chunks of every size, comes out byte for byte.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { multipartFile } from "../services/uploads/form_data.ts";
import {
  indexOfBytes,
  SearchableBytes,
} from "../services/uploads/searchable_bytes.ts";

const encoder = new TextEncoder();

/** Random bytes from a three-letter alphabet, so needles often match. */
function letters(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    bytes[i] = 97 + Math.floor(Math.random() * 3);
  }
  return bytes;
}

Deno.test("SearchableBytes.indexOf answers as Buffer.prototype.indexOf does", () => {
  for (let round = 0; round < 20_000; round++) {
    const haystack = letters(Math.floor(Math.random() * 80));
    const needle = Buffer.from(letters(1 + Math.floor(Math.random() * 7)));
    const from = Math.floor(Math.random() * 12);
    const expected = Buffer.from(haystack).indexOf(needle, from);
    assert.equal(
      SearchableBytes.over(haystack).indexOf(needle, from),
      expected,
      `${Buffer.from(haystack)} / ${needle} from ${from}`,
    );
    if (from === 0) assert.equal(indexOfBytes(haystack, needle, 0), expected);
  }
  const bytes = SearchableBytes.over(encoder.encode("ab\r\ncd\r\n"));
  // Other needles and offsets are Buffer's own.
  assert.equal(bytes.indexOf("\r\n", 3), 6);
  assert.equal(bytes.indexOf(0x63), 4);
  assert.equal(bytes.indexOf(Buffer.from("cd"), -4), 4);
  assert.equal(bytes.indexOf(Buffer.from("")), 0);
  // Still a Buffer, over the same memory.
  assert.ok(Buffer.isBuffer(bytes));
  assert.equal(bytes.toString("latin1", 0, 2), "ab");
});

Deno.test("multipartFile: a file full of near-boundaries, sent in chunks of every size, comes out exact", async () => {
  const boundary = "----formdata-deno-0123456789abcdef";
  // The delimiter with its last byte changed, cut short, and whole but
  // without its CRLF: none of them ends the part.
  const delimiter = `\r\n--${boundary}`;
  const lures = [
    delimiter.slice(0, -1) + "X",
    delimiter.slice(0, 10),
    delimiter.slice(2),
    "\r\n-",
    "\r",
  ];
  const pieces: string[] = [];
  for (let i = 0; i < 4000; i++) {
    pieces.push(lures[i % lures.length]!, "x".repeat(i % 97));
  }
  const file = encoder.encode(pieces.join(""));
  const form = new Uint8Array([
    ...encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n` +
        `hi\r\n--${boundary}\r\nContent-Disposition: form-data; name="f"; ` +
        `filename="lures.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    ...file,
    ...encoder.encode(`\r\n--${boundary}--\r\n`),
  ]);
  for (const size of [1, 2, 3, 7, 38, 39, 40, 1000, 65536]) {
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= form.length) return controller.close();
        // A fresh copy, so no chunk shares memory with another.
        controller.enqueue(form.slice(at, at + size));
        at += size;
      },
    });
    const parsed = multipartFile(
      body,
      `multipart/form-data; boundary=${boundary}`,
    );
    const out = new Uint8Array(await new Response(parsed.stream).arrayBuffer());
    assert.equal(out.length, file.length, `chunks of ${size}`);
    assert.ok(Buffer.from(out).equals(file), `chunks of ${size}`);
    assert.deepEqual(parsed.describe(), {
      filename: "lures.bin",
      contentType: "application/octet-stream",
    });
  }
});
