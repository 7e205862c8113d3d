/**
 * An upstream 404 whose body breaks off or never comes is no whole answer,
 * and is not stored. The client cancelled a 404's body unread, so a 404
 * head alone was taken as the answer: it replaced a stored post (served
 * 200 until then) with a 404 for the TTL, where stale-if-error stands in
 * for any other broken answer. Now the body is read to its end first, and
 * a broken one fails as a 2xx body does (retried, then 502; past the
 * budget 504), the stored copy answering meanwhile.
 *
 * Real sockets on loopback: the app served on a free port over a Deno
 * upstream on port 0 that answers 200 until told to break, then a chunked
 * 404 whose body errors after `{` (the connection is cut mid-body) or
 * never goes on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

type Mode = "ok" | "whole" | "cut" | "hang";

/** The bytes of an answer with `status`, its head's `extra` fields, `body`. */
function answer(status: string, extra: string, body: string): Uint8Array {
  return new TextEncoder().encode(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\n` +
      `connection: close\r\n${extra}\r\n${body}`,
  );
}

/** What the upstream sends in `mode` for post `id`. */
function reply(mode: Mode, id: number): Uint8Array {
  const whole = (status: string, body: string) =>
    answer(status, `content-length: ${body.length}\r\n`, body);
  switch (mode) {
    case "ok":
      return whole("200 OK", JSON.stringify({ id, userId: 1 }));
    case "whole":
      return whole("404 Not Found", "{}");
    default:
      // One byte of two, then a close (cut) or nothing more (hang).
      return answer("404 Not Found", "content-length: 2\r\n", "{");
  }
}

/**
 * A raw TCP upstream on port 0 answering by `state.mode`, one request a
 * connection; it counts the 404s sent and closes every connection when
 * disposed.
 */
function brokenNotFoundUpstream() {
  const state = { mode: "ok" as Mode, notFound: 0 };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const serveOne = async (conn: Deno.Conn) => {
    open.add(conn);
    try {
      const buf = new Uint8Array(16384);
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        head += new TextDecoder().decode(buf.subarray(0, n));
      }
      const id = Number(head.split(" ")[1]!.split("/")[2]);
      if (state.mode !== "ok") state.notFound++;
      await conn.write(reply(state.mode, id));
      if (state.mode === "hang") return; // closed when disposed
    } catch {
      // The app gave up on it.
    }
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) serveOne(conn);
  })();
  return {
    state,
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of open) conn.close();
    },
  };
}

/** The app over `upstream`, every stored answer stale at once. */
function appOver(url: string) {
  return serveApp({
    args: [
      "--upstream-url",
      url,
      // Stale at once, loaded in the foreground, the copy standing in only
      // when the load fails.
      "--cache-ttl-seconds",
      "0",
      "--cache-stale-while-revalidate-seconds",
      "0",
      "--upstream-timeout-ms",
      "1000",
      "--upstream-breaker-threshold",
      "0",
    ],
  });
}

/** Status, `Cache-Status` and body of a GET. */
async function got(url: string) {
  const res = await fetch(url);
  return {
    status: res.status,
    cacheStatus: res.headers.get("cache-status") ?? "",
    body: await res.text(),
  };
}

for (const mode of ["cut", "hang"] as const) {
  Deno.test(`a 404 whose body ${mode === "cut" ? "breaks off" : "never ends"} does not replace a stored post: its stale copy answers, and a key with none gets ${mode === "cut" ? 502 : 504}, not 404`, async () => {
    await using upstream = brokenNotFoundUpstream();
    await using served = await appOver(upstream.url);
    const stored = await got(`${served.url}/posts/1`);
    assert.equal(stored.status, 200, stored.body);
    upstream.state.mode = mode;
    const stale = await got(`${served.url}/posts/1`);
    // Before: 404, and the stored post gone.
    assert.equal(stale.status, 200, stale.body);
    assert.deepEqual(JSON.parse(stale.body), { id: 1, userId: 1 });
    assert.match(stale.cacheStatus, /fwd=stale.*stale-if-error/);
    const none = await got(`${served.url}/posts/2`);
    assert.equal(none.status, mode === "cut" ? 502 : 504, none.body);
    assert.ok(upstream.state.notFound >= 2);
    upstream.state.mode = "ok";
    const again = await got(`${served.url}/posts/1`);
    assert.equal(again.status, 200, again.body);
  });
}

Deno.test("a whole 404 is still the answer: it replaces the stored post", async () => {
  await using upstream = brokenNotFoundUpstream();
  await using served = await appOver(upstream.url);
  assert.equal((await got(`${served.url}/posts/1`)).status, 200);
  upstream.state.mode = "whole";
  const missing = await got(`${served.url}/posts/1`);
  assert.equal(missing.status, 404, missing.body);
  assert.equal(upstream.state.notFound, 1);
});
