/**
 * `GET /uploads/events?id=` read by a real `EventSource` in Debian's
 * chromium, the client the Server-Sent Events standard defines: once the
 * upload's `done` came and the stream ended, EventSource reconnects by
 * itself (after `retry`), sending the last event id it saw. That reconnect
 * must end the subscription (a 204, after which EventSource stops), not
 * open a stream about an upload that is over: such a stream waited for
 * ever, holding one of `MAX_UPLOAD_WATCHERS` per open page.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";

const ID = "0192a1b2c3d4e5f60718293a4b5c6d7f";

/** Waits until `expression` is true in `page` (the page's CSP bars eval). */
async function until(
  page: { evaluate(expression: string): Promise<unknown> },
  expression: string,
): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await page.evaluate(expression) === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never true: ${expression}`);
}

Deno.test("an EventSource of one upload closes after its done event: the reconnect gets 204, no subscriber is left", async () => {
  await using t = await testApp([]);
  await withChromiumPage(t.app.fetch, async ({ origin, page, problems }) => {
    await page.goto(`${origin}/upload`);
    await page.evaluate(`(() => {
      window.seen = [];
      const source = new EventSource("/uploads/events?id=${ID}");
      source.addEventListener("open", () => window.seen.push("open"));
      source.addEventListener("done", () => window.seen.push("done"));
      source.addEventListener("error", () =>
        window.seen.push("error " + source.readyState));
      window.source = source;
    })()`);
    await until(page, "window.seen.includes('open')");
    assert.equal(t.app.watchers.count, 1);
    const res = await fetch(`${origin}/files`, {
      method: "POST",
      headers: { "upload-id": ID, "content-type": "application/octet-stream" },
      body: "hello",
    });
    assert.equal(res.status, 201, await res.text());
    // Closed (2) once the reconnect is answered 204: the stream's
    // `retry` is 2 s.
    await until(page, "window.source.readyState === 2");
    assert.deepEqual(await page.evaluate("window.seen"), [
      "open",
      "done",
      "error 0", // the stream ended: reconnecting
      "error 2", // the reconnect got 204: closed for good
    ]);
    assert.equal(t.app.watchers.count, 0);
    // Chromium reports neither answer as a failure.
    assert.deepEqual(problems, []);
  });
});
