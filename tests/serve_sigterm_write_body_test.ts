/**
 * SIGTERM under `deno serve --parallel` while a write's JSON body is still
 * arriving (`POST /posts`). `deno serve` owns the signals, and its shutdown
 * cuts the request bodies still arriving at once: the read fails with
 * `BadResource` "Cannot read request body as underlying resource
 * unavailable", the very error a client closing its connection mid-body
 * gives, so the body cannot be read within the grace as under `main.ts`,
 * and the write answered 400 "Invalid JSON body", blaming the client. The
 * worker's own signal listener runs before the cut reaches the reader: it
 * ends the bodies being read there, and the write is answered 503 with
 * `Retry-After`, nothing sent to the upstream.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin, signalTaken } from "./fixtures/deno_serve.ts";
import {
  assertShutDownWrite,
  postInHalves,
  untilInFlight,
} from "./fixtures/in_flight.ts";
import {
  serveOnUpstream,
  untilEveryWorkerAnswers,
} from "./fixtures/upstream_service.ts";

Deno.test("deno serve --parallel: SIGTERM while a write's body arrives answers 503 with Retry-After, not 400, nothing sent upstream", async () => {
  await using started = await serveOnUpstream({}, "serve_sigterm_write-");
  const { served, upstream } = started;
  // Every worker answers before the signal.
  await untilEveryWorkerAnswers(started, "/posts/1");
  const signalled = Promise.withResolvers<void>();
  const answer = postInHalves(served.url, signalled.promise);
  try {
    // The head and half the body are in: the write is in flight.
    await untilInFlight(served.url);
    await signalTaken(served, "SIGTERM");
  } finally {
    signalled.resolve();
  }
  const got = await answer;
  assertShutDownWrite(got);
  assert.equal(upstream.hits("/posts"), 0);
  const status = await exitWithin(served, 15_000);
  assert.equal(status?.code, 0, served.output());
});
