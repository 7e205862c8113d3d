/**
 * A Reply made into the `Response` sent: its head goes to the runtime as
 * its own record (services/http/reply.ts), or as a copy without the
 * record's `Content-Length` when there is a body (the runtime writes the
 * body's own); with it for `HEAD`.
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

Deno.test("headRecord hands on a record with nothing to leave out as it is", () => {
  const head = { status: 200, headers: { ...headers }, body: null };
  assert.equal(headRecord(head), head.headers);
  assert.deepEqual(headRecord(head), headers);
  const { "content-length": _, ...withoutLength } = headers;
  const cached = {
    status: 200,
    headers: withoutLength,
    body: new TextEncoder().encode("hello"),
  };
  assert.equal(headRecord(cached), cached.headers);
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
