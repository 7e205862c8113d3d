/**
 * A write whose `Content-Type` names a charset other than UTF-8, in front
 * of the real JSONPlaceholder: json-server refused it with a 415 HTML page
 * holding its stack (file paths included), which went back to the client
 * as it was. JSON is UTF-8 (RFC 8259 8.1): 415 problem+json here, the
 * upstream not asked; `utf-8` in any spelling, or no charset, passes on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("a write in a charset other than UTF-8 gets 415 problem+json; utf-8 or none passes on", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: ["--upstream-url", upstream.url],
  });
  const post = (contentType: string) =>
    fetch(`${service.url}/posts`, {
      method: "POST",
      headers: { "content-type": contentType },
      body: '{"title":"t"}',
    });
  for (
    const type of [
      "application/json; charset=latin1",
      "application/json;charset=ISO-8859-1",
      'application/json; charset="utf-16"',
      "application/json; charset=utf-8x",
    ]
  ) {
    const res = await post(type);
    assert.equal(res.status, 415, type);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.equal(res.headers.get("accept-post"), "application/json");
    assert.match((await res.json()).detail, /charset/);
  }
  for (
    const type of [
      "application/json",
      "application/json; charset=utf-8",
      "application/json;charset=UTF-8",
      'application/json; charset="utf-8"',
    ]
  ) {
    const res = await post(type);
    assert.equal(res.status, 201, type);
    assert.equal((await res.json()).title, "t");
  }
});
