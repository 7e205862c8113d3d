/**
 * A `Host` that is no host (`a>b`, `1.2.3.999`): the runtime builds the
 * request's URL from it unchecked, and reading that URL threw, a 500 logged
 * as an error with its stack for every such request. It is the client's
 * mistake: 400 (RFC 9112 3.2), as problem+json, logged as a request line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

/** Sends `GET target` with `Host: host` over a raw socket; the answer. */
async function rawGet(url: string, target: string, host: string) {
  const conn = await Deno.connect({ port: Number(new URL(url).port) });
  try {
    await conn.write(new TextEncoder().encode(
      `GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`,
    ));
    const text = new TextDecoder().decode(
      await new Response(conn.readable).arrayBuffer(),
    );
    const [head, body] = text.split("\r\n\r\n");
    return { status: Number(head!.split(" ")[1]), head: head!, body: body! };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by reading to the end
    }
  }
}

Deno.test("a Host that is no host gets 400 problem+json on every route, never a 500 or an error log", async () => {
  await using served = await serveApp({});
  const targets = ["/posts?x=1", "/posts/1", "/posts/%41", "/files?limit=1"];
  for (const host of ["a>b", "a b", "1.2.3.999", "h:99999"]) {
    for (const target of targets) {
      const answer = await rawGet(served.url, target, host);
      assert.equal(answer.status, 400, `${host} ${target}`);
      assert.match(answer.head, /content-type: application\/problem\+json/i);
      const problem = JSON.parse(answer.body);
      assert.equal(problem.status, 400);
      assert.equal(problem.instance, target.split("?")[0]);
    }
  }
  // A good Host is served as before.
  const good = await rawGet(served.url, "/openapi.json", "localhost:1");
  assert.equal(good.status, 200);
  assert.deepEqual(
    served.records.filter((r) => r.level === "error" || r.level === "warn"),
    [],
  );
  assert.equal(
    served.records.filter((r) => r.msg === "request" && r.status === 400)
      .length,
    16,
  );
});
