/**
 * A chunked write body whose end meets a tiny read: Deno 2.9.6 fails a
 * BYOB read of 1 or 2 bytes that reaches the end of a chunked request body
 * (`BadResource` inside the stream's pull) and the read never settles.
 * `readBody` made such reads: one byte past `WRITE_MAX_BYTES` to see the
 * limit crossed, and the 1-2 bytes left of a segment. A chunked `POST
 * /posts` of exactly 65,536 bytes (the default limit), or of 99,999 under
 * a limit of 100,000, hung until the header timeout (408 after 30 s), as
 * did one of 69,632 that should have had its 413 at once. Found by hand
 * with raw sockets against `deno task start`; nothing in it is timed here:
 * the statuses tell (408 on the code before).
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { exchange } from "./fixtures/until_closed.ts";

/** A JSON object of exactly `bytes` bytes, sent in chunks of `chunk`. */
function chunkedPost(bytes: number, chunk: number): string {
  const json = `{"title":"${"a".repeat(bytes - 12)}"}`;
  assert.equal(json.length, bytes);
  let body = "";
  for (let at = 0; at < json.length; at += chunk) {
    const piece = json.slice(at, at + chunk);
    body += `${piece.length.toString(16)}\r\n${piece}\r\n`;
  }
  return "POST /posts HTTP/1.1\r\nhost: x\r\nconnection: close\r\n" +
    "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" +
    `${body}0\r\n\r\n`;
}

Deno.test("chunked write bodies at or just under WRITE_MAX_BYTES are answered, one past it 413, none left hanging", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    // The header timeout bounds a hung body: 408 on the code before.
    const env = { UPSTREAM_URL: upstream.url, HEADER_TIMEOUT_MS: "3000" };
    await using atDefault = await spawnService(["--data-dir", dataDir], {
      env,
    });
    const exact = await exchange(atDefault.url, chunkedPost(65_536, 4096));
    assert.equal(exact.status, 201, exact.headers);
    const whole = await exchange(atDefault.url, chunkedPost(65_536, 65_536));
    assert.equal(whole.status, 201, whole.headers);
    const past = await exchange(atDefault.url, chunkedPost(69_632, 4096));
    assert.equal(past.status, 413, past.headers);
    await using wider = await spawnService(["--data-dir", dataDir], {
      env: { ...env, WRITE_MAX_BYTES: "100000" },
    });
    const under = await exchange(wider.url, chunkedPost(99_999, 99_999));
    assert.equal(under.status, 201, under.headers);
  });
});
