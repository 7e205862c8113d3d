/**
 * A connection to the upstream not opened because the process is out of
 * file descriptors is not the upstream failing. Found with wrk -c200 of
 * distinct cold keys against the service under `ulimit -n 256`: the client
 * sockets took the descriptors, the upstream connections failed with
 * EMFILE, the breaker counted them as the upstream's failures and opened
 * again and again (20,903 calls shed `breaker_open` in 30 s, another
 * client's misses 503 for each cooldown). Now the breaker does not count
 * them, and such a call ends as 503 with `Retry-After`, not 502.
 *
 * The client runs in a process of its own (tests/fixtures/
 * descriptor_starved_client.ts) that opens /dev/null until it may open no
 * more, against a real Deno upstream on port 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runUnderUlimit } from "./fixtures/under_ulimit.ts";

const PROGRAM = new URL(
  "./fixtures/descriptor_starved_client.ts",
  import.meta.url,
).pathname;

/** What the fixture printed, run under `ulimit -n 128` with `args`. */
async function starvedCalls(...args: string[]) {
  const { code, stdout: text, stderr } = await runUnderUlimit(
    128,
    PROGRAM,
    ...args,
  );
  assert.equal(code, 0, stderr);
  const result = JSON.parse(text.trim().split("\n").at(-1)!) as {
    held: number;
    starved: { status: number; retryAfterSeconds?: number; message: string }[];
    breaker: string;
    after: { status: number; message?: string };
  };
  return { text, result };
}

/** Each starved call 503 with `Retry-After`, the breaker closed, then 200. */
function assertStarvedOnly(
  { text, result }: Awaited<ReturnType<typeof starvedCalls>>,
): void {
  assert.ok(result.held > 0, text);
  for (const call of result.starved) {
    assert.equal(call.status, 503, text);
    assert.equal(call.retryAfterSeconds, 1, text);
    assert.match(call.message, /no file descriptor is free/, text);
  }
  // Before: two 502s opened the breaker, the others and this one were
  // refused for its cooldown.
  assert.equal(result.breaker, "closed", text);
  assert.equal(result.after.status, 200, text);
}

Deno.test("calls to the upstream starved of file descriptors are 503 with Retry-After and leave the breaker closed: the next call is served", async () => {
  assertStarvedOnly(await starvedCalls());
});

// The lookup of the name fails first, as "Name or service not known":
// before, 502, 502, then the breaker open, and still open (503 for 5 s)
// for the call made once the descriptors were free.
Deno.test("the same with the upstream named by a host name, whose lookup fails for want of descriptors", async () => {
  assertStarvedOnly(await starvedCalls("localhost"));
});
