import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { declaredSha256 } from "../services/http/digest.ts";

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
