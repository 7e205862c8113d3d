/**
 * End-to-end tests of a shutdown whose grace period runs out while
 * requests wait on an upstream that does not answer: the real service runs
 * as a child process (`main.ts`), the fixture upstream holds the requests,
 * and SIGTERM comes with `SHUTDOWN_GRACE_MS` far below
 * `UPSTREAM_TIMEOUT_MS`. Before, the exit closed each client's connection
 * with no answer (curl: "Empty reply from server", exit 52); each must now
 * get an answer it can act on before the process exits 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exitWithin } from "./fixtures/deno_serve.ts";
import {
  type ServiceOnUpstream,
  spawnOnUpstream,
} from "./fixtures/upstream_service.ts";

/** Far longer than the grace period: only the shutdown can end the wait. */
const HANG_MS = 60_000;

/** The flags of a service whose upstream waits outlast its grace period. */
const FLAGS = ["--upstream-timeout-ms", "30000", "--shutdown-grace-ms", "500"];

/** The service on its upstream with {@linkcode FLAGS}, then `more`. */
function hungUpstreamService(more: string[] = []) {
  return spawnOnUpstream({
    flags: [...FLAGS, ...more],
    prefix: "shutdown_upstream-",
  });
}

/** A request's status, headers and body, or the error its fetch met. */
async function answerOf(
  request: Promise<Response>,
): Promise<{ status: number; headers: Headers; body: string } | Error> {
  try {
    const res = await request;
    return { status: res.status, headers: res.headers, body: await res.text() };
  } catch (error) {
    return error as Error;
  }
}

/**
 * Sends `request` to the service, waits until the upstream has had `hits`
 * requests (the last one hangs there), then sends SIGTERM; the answer's
 * status, headers and body, which must come (before, none did).
 */
async function answerPastSigterm(
  { service, upstream }: ServiceOnUpstream,
  request: (url: string) => Promise<Response>,
  hits = 1,
): Promise<{ status: number; headers: Headers; body: string }> {
  const answer = answerOf(request(service.url));
  await upstream.waitForRequests(hits);
  service.kill("SIGTERM");
  const got = await answer;
  assert.ok(!(got instanceof Error), `no answer: ${got}`);
  return got;
}

Deno.test("SIGTERM past the grace period with a GET waiting on a hung upstream: 503 problem+json with Retry-After, exit 0", async () => {
  await using started = await hungUpstreamService();
  const { service, upstream } = started;
  upstream.setFault("/posts/1", { delayMs: HANG_MS });
  const got = await answerPastSigterm(
    started,
    (url) => fetch(`${url}/posts/1`),
  );
  assert.equal(got.status, 503, got.body);
  assert.equal(got.headers.get("content-type"), "application/problem+json");
  assert.equal(got.headers.get("retry-after"), "1");
  assert.equal(got.headers.get("connection"), "close");
  const problem = JSON.parse(got.body);
  assert.match(problem.detail, /shutting down/);
  assert.equal(typeof problem.requestId, "string");
  assert.equal((await service.status).code, 0, service.stderr);
  const end = await service.waitForLine((r) => r.msg === "shutdown.end");
  assert.equal(end.outcome, "timeout");
  // The access log has the answer too (before, no line at all).
  await service.waitForLine((r) =>
    r.msg === "request" && r.path === "/posts/1" && r.status === 503
  );
});

Deno.test("SIGTERM past the grace period with a POST sent to a hung upstream: 504 saying it may have been carried out", async () => {
  await using started = await hungUpstreamService();
  const { service, upstream } = started;
  upstream.setFault("/posts", { delayMs: HANG_MS });
  const got = await answerPastSigterm(started, (url) =>
    fetch(`${url}/posts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "t", body: "b", userId: 1 }),
    }));
  // The upstream had the write: it may have acted on it, so not a 503
  // (which a client may take for "not done, send it again").
  assert.equal(got.status, 504, got.body);
  assert.equal(got.headers.get("content-type"), "application/problem+json");
  assert.equal(got.headers.get("connection"), "close");
  assert.match(JSON.parse(got.body).detail, /may have been carried out/);
  assert.equal((await service.status).code, 0, service.stderr);
});

Deno.test("SIGTERM past the grace period while a stale entry is reloaded from a hung upstream: the stale entry answers", async () => {
  await using started = await hungUpstreamService([
    "--cache-ttl-seconds",
    "1",
    "--cache-stale-while-revalidate-seconds",
    "0",
  ]);
  const { service, upstream } = started;
  const first = await fetch(`${service.url}/posts/1`);
  const body = await first.text();
  assert.equal(first.status, 200);
  await upstream.waitForRequests(1);
  // Stale after the 1 s TTL; the next GET reloads it and hangs.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  upstream.setFault("/posts/1", { delayMs: HANG_MS });
  const got = await answerPastSigterm(
    started,
    (url) => fetch(`${url}/posts/1`),
    2,
  );
  assert.equal(got.status, 200);
  assert.equal(got.body, body);
  assert.match(got.headers.get("cache-status") ?? "", /fwd-stale|stale/);
  assert.equal((await service.status).code, 0, service.stderr);
});

Deno.test("SIGTERM with a background refresh waiting on a hung upstream: the process exits within the grace, not at UPSTREAM_TIMEOUT_MS", async () => {
  await using started = await hungUpstreamService(["--cache-ttl-seconds", "1"]);
  const { service, upstream } = started;
  const first = await fetch(`${service.url}/posts/1`);
  await first.body?.cancel();
  // Stale after the 1 s TTL: the next GET answers at once from the
  // entry (stale-while-revalidate) and refreshes it in the background.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  upstream.setFault("/posts/1", { delayMs: HANG_MS });
  const stale = await fetch(`${service.url}/posts/1`);
  await stale.body?.cancel();
  assert.match(stale.headers.get("cache-status") ?? "", /revalidate/);
  await upstream.waitForRequests(2);
  service.kill("SIGTERM");
  // Before, close() waited for the refresh: 30 s, UPSTREAM_TIMEOUT_MS.
  const exited = (await exitWithin(service, 15_000))?.code ?? "running";
  assert.equal(exited, 0, service.stderr);
});
