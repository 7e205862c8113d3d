/**
 * The SHA-256 worker replaced while the process is out of file
 * descriptors. Deno 2.9 panics, ending the process, when a worker thread
 * starts with fewer than six descriptors free (its runtime's unwrap in
 * runtime/tokio_util.rs, which no JavaScript catches); 8a42525 started the
 * first worker with the app for that reason, but a worker that dies is
 * replaced from a timer, which fired whatever the descriptors: a death
 * while slow downloads held every one ended the process. Now the
 * replacement waits until descriptors are free, the uploads meanwhile
 * hashed on the calling thread.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runUnderUlimit } from "./fixtures/under_ulimit.ts";

Deno.test("a hash worker that dies while every descriptor is taken is replaced once some are free, and the process lives", async () => {
  const script = new URL("./fixtures/starved_hash_worker.ts", import.meta.url);
  const { code, stdout, stderr: err } = await runUnderUlimit(
    128,
    script.pathname,
  );
  assert.doesNotMatch(err, /panicked/, err);
  assert.equal(code, 0, err);
  const result = JSON.parse(stdout);
  // The descriptors were taken (a hundred or so under ulimit -n 128).
  assert.equal(result.failed, true);
  assert.ok(result.held > 50, JSON.stringify(result));
  assert.ok(result.retryInMs > 0, JSON.stringify(result));
  // Hashed on the calling thread while waiting, on the new worker after.
  assert.equal(result.whileWaiting, 32);
  assert.equal(result.afterwards, 32);
  assert.deepEqual(
    result.msgs,
    ["hash_worker.exited", "hash_worker.waiting", "hash_worker.started"],
  );
});
