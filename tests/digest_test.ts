/**
 * `Content-Digest` and `Repr-Digest` (RFC 9530): the sha-256 member read
 * as an RFC 9651 dictionary, two headers that disagree refused, and an upload
 * whose digests disagree answered 400 with nothing kept.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { declaredSha256 } from "../services/http/digest.ts";
import { serveApp } from "./fixtures/served_app.ts";

const ABC = Buffer.from(
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  "hex",
);
const OTHER = new Uint8Array(32).fill(7);

function field(bytes: Uint8Array): string {
  return `sha-256=:${Buffer.from(bytes).toString("base64")}:`;
}

Deno.test("declaredSha256 reads the sha-256 member, other algorithms and blanks ignored", () => {
  const read = (value: string) =>
    declaredSha256(new Headers({ "content-digest": value }));
  assert.deepEqual(read(field(ABC)), new Uint8Array(ABC));
  assert.deepEqual(
    read(`sha-512=:AAAA:, ${field(ABC)}`),
    new Uint8Array(ABC),
  );
  assert.equal(read("sha-512=:AAAA:"), undefined);
  assert.equal(read(""), undefined);
  assert.equal(read("garbage"), "malformed");
  assert.equal(read("sha-256=:abc:"), "malformed");
});

Deno.test("declaredSha256: a repeated sha-256 member counts by its last value (RFC 9651 dictionary), as an intermediary reads it", () => {
  const read = (value: string) =>
    declaredSha256(new Headers({ "content-digest": value }));
  // Before, the first member won: a body matching it passed, whatever the
  // last (the one a proxy that checked the field had compared) said.
  assert.deepEqual(
    read(`${field(ABC)}, ${field(OTHER)}`),
    new Uint8Array(OTHER),
  );
  assert.equal(read(`${field(ABC)}, sha-256=:AAAA:`), "malformed");
});

Deno.test("declaredSha256: Content-Digest and Repr-Digest that disagree are refused, not one of them ignored", () => {
  const read = (content: string, repr: string) =>
    declaredSha256(
      new Headers({ "content-digest": content, "repr-digest": repr }),
    );
  // A whole body sent once: both digest the same bytes (RFC 9530 2, 3).
  assert.deepEqual(read(field(ABC), field(ABC)), new Uint8Array(ABC));
  // Before, the Content-Digest was checked and the other never looked at.
  assert.equal(read(field(ABC), field(OTHER)), "malformed");
  assert.deepEqual(read(field(ABC), "sha-512=:AAAA:"), new Uint8Array(ABC));
  assert.deepEqual(read("", field(ABC)), new Uint8Array(ABC));
});

Deno.test("an upload whose Repr-Digest disagrees with its right Content-Digest is 400, nothing kept", async () => {
  await using served = await serveApp({});
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    body: "abc",
    headers: { "content-digest": field(ABC), "repr-digest": field(OTHER) },
  });
  const problem = await res.json();
  assert.equal(res.status, 400, JSON.stringify(problem));
  assert.match(problem.detail, /agree/);
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.deepEqual(list.items, []);
});
