/**
 * End-to-end tests of SIGTERM while a write's JSON body is still arriving
 * (`POST /posts`): the real service runs as a child process (`main.ts`).
 * The drain's `shutdown()` cut the body at the signal and the write was
 * answered 400 "Invalid JSON body: The body could not be read to its end"
 * within 30 ms, blaming the client (curl --limit-rate 2K, a 20 KB body).
 * A body that arrives within the grace period is now read and the write
 * carried out, as the README's "lets in-flight requests finish" says; one
 * still arriving when the grace runs out is answered 503 with
 * `Retry-After` (nothing was sent to the upstream).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  assertShutDownWrite,
  postInHalves,
  untilInFlight,
} from "./fixtures/in_flight.ts";
import { spawnOnUpstream } from "./fixtures/upstream_service.ts";

/** The service on its upstream with a grace period of `graceMs`. */
function serviceWithGrace(graceMs: number) {
  return spawnOnUpstream({
    flags: ["--shutdown-grace-ms", String(graceMs)],
    prefix: "shutdown_write-",
  });
}

/**
 * Resolves once the drain has stopped accepting and waits for what still
 * arrives: where the drain cut the body before.
 */
function drainWaiting(service: {
  waitForLine(p: (r: Record<string, unknown>) => boolean): Promise<unknown>;
}): Promise<unknown> {
  return service.waitForLine((r) => r.msg === "shutdown.waiting");
}

Deno.test("SIGTERM while a write's body arrives, within the grace: the body is read and the write carried out", async () => {
  await using started = await serviceWithGrace(5000);
  const { service, upstream } = started;
  const { promise: signalled, resolve } = Promise.withResolvers<void>();
  const answer = postInHalves(service.url, signalled);
  // The head and half the body are in: the write is in flight.
  await untilInFlight(service.url);
  service.kill("SIGTERM");
  await drainWaiting(service);
  resolve();
  const got = await answer;
  const text = new TextDecoder().decode(got.body);
  assert.equal(got.status, 201, text);
  assert.equal(upstream.hits("/posts"), 1);
  assert.equal((await service.status).code, 0, service.stderr);
});

Deno.test("SIGTERM while a write's body arrives past the grace: 503 with Retry-After, not 400, nothing sent upstream", async () => {
  await using started = await serviceWithGrace(300);
  const { service, upstream } = started;
  // The second half would go once the process exited: never read.
  const answer = postInHalves(service.url, service.status);
  await untilInFlight(service.url);
  service.kill("SIGTERM");
  const got = await answer;
  assertShutDownWrite(got);
  assert.equal(upstream.hits("/posts"), 0);
  assert.equal((await service.status).code, 0, service.stderr);
});
