/**
 * Issue 13 item 1 against the fixture upstream (which keeps writes): every
 * write route passes through with its body, content type, status,
 * `Location` and body; bodies are capped (413), must be JSON objects (400)
 * sent as JSON (415); POST is never retried, PUT/DELETE only when nothing
 * was sent, and a write the upstream read is never sent again. What a
 * write makes stale is in `write_invalidation_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RESOURCES } from "../routes/jsonplaceholder/resources.ts";
import { JsonPlaceholderClient } from "../services/upstream/client.ts";
import { sendWrite, WRITE_METHODS } from "../services/upstream/write.ts";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { isHit, JSON_TYPE, read, send } from "./fixtures/write_requests.ts";

Deno.test("every write route passes through: method, body, content type; status, Location and body back as they are", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (const resource of RESOURCES) {
    const created = await send(t, "POST", `/${resource}`, { title: "new" });
    assert.equal(created.status, 201, resource);
    const item = await created.json();
    assert.equal(item.title, "new");
    // The fixture's absolute Location, made to lead here.
    assert.equal(created.headers.get("location"), `/${resource}/${item.id}`);
    assert.equal(created.headers.get("content-type"), JSON_TYPE);
    assert.equal(created.headers.get("cache-control"), "no-store");
    // Declared, so the access log and metrics count the bytes.
    assert.equal(
      created.headers.get("content-length"),
      String(JSON.stringify(item, null, 2).length),
    );

    const put = await send(t, "PUT", `/${resource}/1`, { title: "put" });
    assert.equal(put.status, 200);
    assert.deepEqual(await put.json(), { title: "put", id: 1 });
    const patch = await send(t, "PATCH", `/${resource}/2`, { title: "p" });
    assert.equal(patch.status, 200);
    assert.equal((await patch.json()).title, "p");
    const removed = await send(t, "DELETE", `/${resource}/3`);
    assert.equal(removed.status, 200);
    assert.deepEqual(await removed.json(), {});
  }
  const writes = upstream.requests.filter((r) => r.method !== "GET");
  assert.equal(writes.length, RESOURCES.length * 4);
  const put = writes.find((r) => r.method === "PUT")!;
  assert.equal(put.path, "/posts/1");
  assert.equal(put.body, JSON.stringify({ title: "put" }));
  assert.equal(put.headers.get("content-type"), JSON_TYPE);
  const del = writes.find((r) => r.method === "DELETE")!;
  assert.equal(del.body, "");
  // An upstream 404 comes back as it is, not as a problem.
  const missing = await send(t, "PUT", "/posts/9999", { title: "x" });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("content-type"), JSON_TYPE);
  assert.deepEqual(await missing.json(), {});
});

Deno.test("bodies: 413 past WRITE_MAX_BYTES (at once by Content-Length), 400 for bad JSON, 415 for another type, 405 outside the routes", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--write-max-bytes",
    "1024",
  ]);
  const big = JSON.stringify({ body: "x".repeat(2000) });
  const declared = await t.get("/posts", {
    method: "POST",
    body: big,
    headers: { "content-type": "application/json" },
  });
  assert.equal(declared.status, 413);
  assert.equal(declared.headers.get("connection"), "close");
  assert.match((await declared.json()).detail, /1024 bytes/);
  // Chunked, no length: counted as it comes.
  const chunks = [big.slice(0, 900), big.slice(900)];
  const streamed = await t.get("/posts/1", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: ReadableStream.from(chunks.map((c) => new TextEncoder().encode(c))),
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  for (const body of ["{oops", "[1,2]", "1", "null", "", "\xff"]) {
    const res = await t.get("/posts", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    await res.body?.cancel();
  }
  const text = await t.get("/posts", { method: "POST", body: "{}" });
  assert.equal(text.status, 415, "fetch sends a string as text/plain");
  assert.equal(text.headers.get("accept-post"), "application/json");
  await text.body?.cancel();
  const patch = await t.get("/posts/1", {
    method: "PATCH",
    body: "a=1",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal(patch.status, 415);
  assert.equal(patch.headers.get("accept-patch"), "application/json");
  await patch.body?.cancel();
  const put = await t.get("/posts/1", { method: "PUT", body: "{}" });
  assert.equal(put.status, 415);
  assert.equal(put.headers.get("accept-post"), null, "not a POST");
  await put.body?.cancel();
  const ld = await send(t, "POST", "/posts", { a: 1 });
  assert.equal(ld.status, 201);
  await ld.body?.cancel();
  const badId = await send(t, "PUT", "/posts/abc", { a: 1 });
  assert.equal(badId.status, 400);
  await badId.body?.cancel();
  const collection = await send(t, "PUT", "/posts", { a: 1 });
  assert.equal(collection.status, 405);
  assert.equal(collection.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  await collection.body?.cancel();
  // Only the one well-formed POST reached the upstream.
  assert.equal(upstream.hits(), 1);
});

Deno.test("Content-Length past the cap is answered before any body byte is sent, sent once or twice", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--write-max-bytes",
    "1024",
    // Were the length not read, the body's wait would end in a 408, soon.
    "--header-timeout-ms",
    "2000",
  ]);
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => t.app.fetch(req, info),
  );
  // Sent twice with one number, the runtime frames the body by it (RFC
  // 9110 8.6), and `Headers` join it into "1000000000, 1000000000": it was
  // read as no length, and the server waited for the body.
  for (const times of [1, 2]) {
    const conn = await Deno.connect({ port: server.addr.port });
    try {
      await conn.write(new TextEncoder().encode(
        "POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          "Content-Length: 1000000000\r\n".repeat(times) + "\r\n",
      ));
      const buffer = new Uint8Array(4096);
      const n = await conn.read(buffer);
      const text = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      assert.match(text, /^HTTP\/1\.1 413/, `sent ${times} time(s)`);
      assert.match(text, /The body of 1000000000 bytes exceeds/);
    } finally {
      conn.close();
    }
  }
  assert.equal(upstream.hits(), 0);
});

Deno.test("POST and PATCH are never retried; PUT and DELETE only when no connection could be opened", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  // Answered 503: sent, so never again, whatever the method.
  for (const [method, path] of [["POST", "/posts"], ["PUT", "/posts/1"]]) {
    upstream.setFault(path!, { status: 503, times: 1 });
    const res = await send(t, method!, path!, { title: "x" });
    // A 5xx is 502 problem+json naming it, as for a read.
    assert.equal(res.status, 502);
    assert.equal((await res.json()).upstreamStatus, 503);
    assert.equal(upstream.hits(path!), 1, `${method} sent once`);
    upstream.resetHits();
  }
  // The connection dropped after the request went out: 502, not repeated.
  for (const [method, path] of [["POST", "/posts"], ["DELETE", "/posts/2"]]) {
    upstream.setFault(path!, { drop: true, times: 1 });
    const body = method === "DELETE" ? undefined : { title: "x" };
    const res = await send(t, method!, path!, body);
    assert.equal(res.status, 502);
    assert.match((await res.json()).detail, /not repeated/);
    assert.equal(upstream.hits(path!), 1, `${method} sent once`);
    upstream.clearFaults();
    upstream.resetHits();
  }
});

Deno.test("a refused connection: PUT and DELETE are tried again, POST and PATCH are not", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refused = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  for (const method of WRITE_METHODS) {
    let attempts = 0;
    using client = new JsonPlaceholderClient({
      baseUrl: refused,
      retries: 2,
      backoffMs: 1,
      breakerThreshold: 0,
      onAttempt: () => attempts++,
    });
    await assert.rejects(
      sendWrite(client, {
        method,
        pathAndQuery: "/posts/1",
        ...(method === "DELETE" ? {} : {
          body: new TextEncoder().encode("{}"),
          contentType: "application/json",
        }),
      }),
      /upstream connection failed/,
    );
    const idempotent = method === "PUT" || method === "DELETE";
    assert.equal(attempts, idempotent ? 3 : 1, method);
  }
});

/**
 * A raw HTTP/1.1 upstream: the first request is answered (and its
 * connection kept alive), every later one is read and then its connection
 * closed without an answer. Counts the requests it read.
 */
function closingUpstream():
  & { url: string; received: () => number }
  & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let received = 0;
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const buffer = new Uint8Array(65536);
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) return;
        const text = new TextDecoder().decode(buffer.subarray(0, n));
        if (!/ HTTP\/1\.1\r\n/.test(text)) continue;
        if (++received > 1) return;
        await conn.write(new TextEncoder().encode(
          "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n" +
            'content-length: 10\r\n\r\n{"id":101}',
        ));
      }
    } catch {
      // The client went away.
    } finally {
      conns.delete(conn);
      conn.close();
    }
  };
  (async () => {
    for await (const conn of listener) serve(conn);
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    received: () => received,
    [Symbol.dispose]() {
      listener.close();
      for (const conn of conns) conn.close();
    },
  };
}

Deno.test("a write the upstream read is never sent again, even on a kept-alive connection that closes", async () => {
  using upstream = closingUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const first = await send(t, "POST", "/posts", { title: "a" });
  assert.equal(first.status, 201);
  await first.body?.cancel();
  // Deno's fetch would send this again on its own over a reused connection.
  const second = await send(t, "POST", "/posts", { title: "b" });
  assert.equal(second.status, 502);
  await second.body?.cancel();
  assert.equal(upstream.received(), 2, "each POST reached the upstream once");
});

Deno.test("a redirect answering a write is passed on, not followed, and drops its Location", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  await read(t, "/posts/5");
  upstream.resetHits();
  upstream.setFault("/posts", {
    status: 303,
    times: 1,
    headers: { location: `${upstream.url}/posts/5` },
  });
  const res = await send(t, "POST", "/posts", { title: "t" });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/posts/5");
  await res.body?.cancel();
  assert.equal(upstream.hits("/posts/5"), 0, "not followed");
  assert.ok(!isHit((await read(t, "/posts/5")).cache), "its Location dropped");
});
