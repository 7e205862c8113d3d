/**
 * Refusals an upload gets for its headers are counted in `uploads_total`
 * like every other (a malformed digest was in no outcome), and a
 * `Content-Length` sent twice with one number, which the runtime framed
 * the body by, is that length, not 400 "not a number".
 *
 * @module
 */

import assert from "node:assert/strict";
import { startService } from "./fixtures/files_service.ts";
import { declaredLength } from "../routes/files/upload_length.ts";

/** `uploads_total` of `url`'s `/metrics`, by outcome. */
async function uploadsTotal(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (
    const [, outcome, value] of text.matchAll(
      /^uploads_total\{outcome="(\w+)"\} (\d+)$/gm,
    )
  ) {
    counts[outcome!] = Number(value);
  }
  return counts;
}

/** Sends `head` and `body` on a raw socket; the status and body answered. */
async function rawRequest(
  port: number,
  head: string,
  body: string,
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(`${head}\r\n\r\n${body}`));
    const text = new TextDecoder().decode(
      await new Response(conn.readable).arrayBuffer(),
    );
    const [status, rest] = [text.split(" ")[1], text.split("\r\n\r\n")[1]];
    return { status: Number(status), body: rest ?? "" };
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by reading to the end.
    }
  }
}

Deno.test("a malformed digest's 400 is counted as invalid_digest", async () => {
  await using service = await startService();
  const res = await fetch(`${service.url}/files`, {
    method: "POST",
    body: "hello",
    headers: { "content-digest": "sha-256=:nope" },
  });
  assert.equal(res.status, 400);
  await res.body?.cancel();
  assert.deepEqual(await uploadsTotal(service.url), { invalid_digest: 1 });
});

Deno.test("a Content-Length sent twice with one number is that length, however spelt", async () => {
  await using service = await startService();
  // "05" and "5" are one number to the runtime, which frames the body by
  // it; compared as text they were 400 "not a number".
  for (const [first, second] of [["5", "5"], ["05", "5"]]) {
    const head = [
      "POST /files HTTP/1.1",
      "host: 127.0.0.1",
      "content-type: application/octet-stream",
      `content-length: ${first}`,
      `content-length: ${second}`,
      "connection: close",
    ].join("\r\n");
    const answer = await rawRequest(service.addr.port, head, "hello");
    assert.equal(answer.status, 201, answer.body);
    assert.equal(JSON.parse(answer.body).size, 5);
  }
  assert.deepEqual(await uploadsTotal(service.url), { created: 2 });
});

Deno.test("a Content-Length that is no length is 400, counted as invalid_length", async () => {
  for (const header of ["abc", "5, 6", "", "5,"]) {
    const refused = await declaredLength(
      new Headers({ "content-length": header }),
      {
        kind: "raw",
        coding: "identity",
        store: { freeBytes: () => Promise.resolve(undefined) },
        maxUploadBytes: 100,
        instance: "/files",
      },
    );
    assert.ok("response" in refused, header);
    assert.equal(refused.outcome, "invalid_length", header);
    assert.equal(refused.response.status, 400, header);
    await refused.response.body?.cancel();
  }
});
