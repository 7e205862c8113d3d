/**
 * A request the upstream failed (502, 504) logs `request.failed`
 * with the failure's name, message and status, and no stack: the stack of
 * an `UpstreamError` is the same few frames of the client every time. On
 * main each such line carried it: ~1.1 KB a line where ~0.3 KB say it all,
 * and a flood of distinct misses against the real JSONPlaceholder (wrk
 * -c200, 4 s) wrote 3,281 of them, ~3.6 MB of stacks, formatted one by one
 * while the service sheds load. A shed 503 is now in one throttled
 * `upstream.shed` line instead (tests/upstream_shed_log_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

Deno.test("upstream failures log request.failed without a stack: 502; a shed 503 upstream.shed", async () => {
  await using upstream = await startFixtureUpstream();
  upstream.setFault("/posts/1", { delayMs: 1000 });
  upstream.setFault("/posts/3", { status: 500 });
  await using served = await serveApp({
    args: [
      "--upstream-url",
      upstream.url,
      "--upstream-concurrency",
      "1",
      "--upstream-queue-limit",
      "0",
      "--upstream-retries",
      "0",
    ],
  });
  const slow = fetch(`${served.url}/posts/1`);
  await upstream.waitForRequests(1);
  const shed = await fetch(`${served.url}/posts/2`);
  await shed.body?.cancel();
  assert.equal(shed.status, 503);
  await (await slow).body?.cancel();
  const bad = await fetch(`${served.url}/posts/3`);
  await bad.body?.cancel();
  assert.equal(bad.status, 502);

  const failed = served.records.filter((r) => r.msg === "request.failed");
  assert.deepEqual(failed.map((r) => r.status), [502]);
  const shedLines = served.records.filter((r) => r.msg === "upstream.shed");
  assert.equal(shedLines.length, 1);
  for (const record of failed) {
    const error = record.error as Record<string, unknown>;
    assert.equal(error.name, "UpstreamError");
    assert.equal(typeof error.message, "string");
    assert.equal(error.status, record.status);
    assert.equal("stack" in error, false, JSON.stringify(record));
    assert.ok(JSON.stringify(record).length < 600, JSON.stringify(record));
  }
  assert.equal(
    (failed[0]!.error as Record<string, unknown>).upstreamStatus,
    500,
  );
});

Deno.test("an upstream that refuses connections: the lines say why, with the request id", async () => {
  // Deno 2.9's fetch fails with "fetch failed" and keeps the reason (DNS,
  // refused, TLS) one cause further down: the lines said
  // `"cause":"fetch failed"` and the retries no request id, which left an
  // operator nothing to act on.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  await using served = await serveApp({
    args: ["--upstream-url", `http://127.0.0.1:${port}`],
  });
  const answer = await fetch(`${served.url}/posts/1`, {
    headers: { "x-request-id": "refused-1" },
  });
  await answer.body?.cancel();
  assert.equal(answer.status, 502);

  const failed = served.records.filter((r) => r.msg === "request.failed");
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.requestId, "refused-1");
  const cause = String((failed[0]!.error as Record<string, unknown>).cause);
  assert.match(cause, /Connection refused/, JSON.stringify(failed[0]));
  const retries = served.records.filter((r) => r.msg === "upstream.retry");
  assert.equal(retries.length, 2, JSON.stringify(served.records));
  for (const retry of retries) {
    assert.equal(retry.requestId, "refused-1", JSON.stringify(retry));
    assert.match(String(retry.reason), /Connection refused/);
  }
});
