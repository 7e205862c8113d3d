/**
 * A large `/users/:id/summary` (an upstream whose lists are megabytes)
 * and clients that read nothing of it (`slowhttptest -X`). The summary
 * was parsed from its parts and serialised again, then handed to the
 * runtime whole: it went out as a buffer the runtime copied per response
 * and held until the client read it, counted idle, so no timer bounded it
 * (ten such readers kept their connections and copies for as long as they
 * liked). Now it is its parts' stored JSON joined and goes out in slices
 * like a cached `/photos` or a stored file: a client reading nothing for
 * DOWNLOAD_IDLE_TIMEOUT_MS is cut off, one reading gets it all.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { readAfterIdle } from "./fixtures/until_closed.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

// Three lists of this size: more than the socket buffers between hold.
const LIST_BYTES = 12_000_000;

Deno.test("a large summary whose client reads nothing for DOWNLOAD_IDLE_TIMEOUT_MS is cut off; a reading one gets it all", async () => {
  await using upstream = startFixtureUpstream();
  for (const part of ["posts", "todos", "albums"]) {
    upstream.setFault(`/users/1/${part}`, { hugeBodyBytes: LIST_BYTES });
  }
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, DOWNLOAD_IDLE_TIMEOUT_MS: "500" },
    });
    const whole = await fetch(`${service.url}/users/1/summary`, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(whole.status, 200);
    const bytes = await whole.bytes();
    const length = bytes.byteLength;
    assert.ok(length > 3 * LIST_BYTES, `${length} bytes`);
    const summary = JSON.parse(new TextDecoder().decode(bytes));
    assert.ok(summary.posts.length > 1000 && summary.albums.length > 1000);

    // Read nothing for well past the timeout, then all there is.
    const received = await readAfterIdle(service.url, "/users/1/summary");
    assert.ok(received > 0, "the summary started");
    // Before: all of it arrived, however long the client had waited.
    assert.ok(received < length, `cut off: ${received} of ${length} bytes`);
  });
});
