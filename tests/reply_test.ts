/**
 * A Reply made into the `Response` sent: its head goes to the runtime as a
 * fresh record (services/http/reply.ts), without the record's
 * `Content-Length` when there is a body (the runtime writes the body's own)
 * and with it for `HEAD`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { headRecord, responseOf } from "../services/http/reply.ts";

const headers = {
  "content-type": "application/json; charset=utf-8",
  "content-length": "5",
  etag: '"a"',
  "x-request-id": "r1",
};

Deno.test("headRecord leaves Content-Length to the runtime when there is a body", () => {
  const head = headRecord({
    status: 200,
    headers: { ...headers },
    body: new TextEncoder().encode("hello"),
  });
  assert.deepEqual(head, {
    "content-type": "application/json; charset=utf-8",
    etag: '"a"',
    "x-request-id": "r1",
  });
});

Deno.test("headRecord keeps the Content-Length of a HEAD answer, in a copy", () => {
  const reply = { status: 200, headers: { ...headers }, body: null };
  const head = headRecord(reply);
  assert.deepEqual(head, headers);
  assert.notEqual(head, reply.headers);
});

Deno.test("responseOf sends the record's fields and the body's own length", async () => {
  const response = responseOf({
    status: 200,
    headers: { ...headers, "content-length": "3" },
    body: new TextEncoder().encode("hello"),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("etag"), '"a"');
  assert.equal(response.headers.get("x-request-id"), "r1");
  assert.equal(response.headers.get("content-length"), null);
  assert.equal(await response.text(), "hello");
});
