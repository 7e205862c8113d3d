/**
 * An upstream labelling its UTF-8 JSON with another charset (an old
 * framework's `charset=ISO-8859-1`, a stray `charset=utf-16`): the body is
 * checked as UTF-8 (RFC 8259 8.1 allows no other), so the answer says
 * UTF-8. The label was passed on as it came, and a client honouring it
 * (a browser showing the JSON, XHR's `responseText`) decoded the verified
 * bytes into other text: `é` became `Ã©`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { testApp } from "./fixtures/app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** `bytes` decoded by the charset `contentType` names (UTF-8 without one). */
function decodedAsLabelled(bytes: Uint8Array, contentType: string): string {
  const charset = /charset=([^;\s]+)/i.exec(contentType)?.[1] ?? "utf-8";
  return new TextDecoder(charset).decode(bytes);
}

Deno.test("an upstream labelling UTF-8 JSON with another charset: the answer says UTF-8, so the text reads as the upstream wrote it", async () => {
  await using upstream = startFixtureUpstream();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const body = JSON.stringify({ id: 1, title: "café, naïve, 東京" });
  const cases = [
    ["/posts/1", "application/json; charset=ISO-8859-1"],
    ["/posts/2", "application/json;charset=utf-16"],
    ["/posts/3", 'application/json; charset="windows-1252"; v=1'],
  ] as const;
  for (const [path, contentType] of cases) {
    upstream.setFault(path, { status: 200, body, contentType });
  }
  for (const [path, given] of cases) {
    for (const round of ["miss", "hit"]) {
      const res = await t.get(path);
      assert.equal(res.status, 200);
      const type = res.headers.get("content-type") ?? "";
      const bytes = await res.bytes();
      assert.equal(
        decodedAsLabelled(bytes, type),
        body,
        `${path} (${given}), ${round}: ${type}`,
      );
      assert.match(type, /^application\/json; charset=utf-8/);
    }
  }
  // Other parameters stay; a UTF-8 label (however spelt) and none are
  // left as they came.
  assert.equal(
    (await t.get("/posts/3")).headers.get("content-type"),
    "application/json; charset=utf-8; v=1",
  );
  for (
    const type of [
      "application/json; charset=UTF8",
      "application/json",
      "application/vnd.api+json",
    ]
  ) {
    upstream.setFault("/posts/4", { status: 200, body, contentType: type });
    const res = await t.get(`/posts/4?type=${encodeURIComponent(type)}`);
    await res.body?.cancel();
    assert.equal(res.headers.get("content-type"), type);
  }
});
