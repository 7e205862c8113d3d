/**
 * An upload refused part way (413 past `MAX_UPLOAD_BYTES` with a chunked
 * body) whose client floods on, under both entries: `main.ts` and
 * `deno serve` (serve.ts), where no connection set of ours closes a
 * connection. The pipeline cancelled its body with the refusal, which
 * handed the body back to the runtime, and the runtime read it to its end:
 * under `deno serve` the connection was held for as long as the client
 * sent. Now the cancel is put off until the answer has had the linger
 * (2 s, services/http/answered_body.ts): the answer arrives, the
 * connection outlives it, then it is closed.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  serveOnUpstream,
  spawnOnUpstream,
} from "./fixtures/upstream_service.ts";
import { answerHead, untilClosed } from "./fixtures/until_closed.ts";

const encoder = new TextEncoder();
const PACES = [["flood", 413], ["flood", 413], ["slow", 408]] as const;
// The rate floor (1024 B/s) judged after 2 s rather than 10.
const ENV = { MAX_UPLOAD_BYTES: "1000000", UPLOAD_RATE_WINDOW_MS: "2000" };

/**
 * A chunked upload sent in 64 KiB pieces as fast as they go, or (`slow`)
 * 50 bytes every 100 ms, below the rate floor.
 */
async function sending(url: string, pace: "flood" | "slow") {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(new URL(url).port),
  });
  await conn.write(encoder.encode(
    "POST /files HTTP/1.1\r\nhost: x\r\n" +
      "content-type: application/octet-stream\r\n" +
      "transfer-encoding: chunked\r\n\r\n",
  ));
  const piece = pace === "flood"
    ? encoder.encode(`10000\r\n${"a".repeat(65_536)}\r\n`)
    : encoder.encode(`32\r\n${"a".repeat(50)}\r\n`);
  const writing = (async () => {
    try {
      for (;;) {
        await conn.write(piece);
        if (pace === "slow") await new Promise((ok) => setTimeout(ok, 100));
      }
    } catch {
      // closed by the service
    }
  })();
  return { conn, writing };
}

/**
 * Two floods at `url` and a slow upload: each gets its 413 (408) saying
 * `Connection: close` once, outlives it by the time three other answers
 * take (the linger is 2 s), and is closed within 15 s.
 */
async function refusedThenClosed(url: string, client?: Deno.HttpClient) {
  for (const [pace, status] of PACES) {
    const { conn, writing } = await sending(url, pace);
    const head = await answerHead(conn);
    assert.match(head, new RegExp(`^HTTP/1.1 ${status} `));
    // One line: the runtime adds its own to an answer given while the body
    // is held (neither at its end nor cancelled); ours made it two.
    const closes = head.split("\r\n").filter((line) =>
      /^connection:/i.test(line)
    );
    assert.deepEqual(closes, ["connection: close"], `${pace}: ${head}`);
    let closed = false;
    const end = untilClosed(conn, 15_000).then((end) => {
      closed = true;
      return end;
    });
    for (let j = 0; j < 3; j++) {
      const res = await fetch(`${url}/healthz`, client ? { client } : {});
      await res.body?.cancel();
    }
    // Before: each flood closed with its 413 (either entry).
    assert.equal(closed, false, `${pace}: closed with its answer`);
    // Before, under deno serve: the slow one still open after 15 s.
    assert.equal((await end).open, false, `${pace}: still open`);
    await writing;
  }
}

Deno.test("main.ts: an upload refused part way (413 to a flood, 408 to a slow one), still sending: its connection outlives the answer by the linger, then closes", async () => {
  await using started = await spawnOnUpstream({ env: ENV });
  await refusedThenClosed(started.service.url);
});

Deno.test("deno serve: an upload refused part way (413 to a flood, 408 to a slow one), still sending: its connection outlives the answer by the linger, then closes", async () => {
  await using started = await serveOnUpstream(ENV, "refused_upload_linger-");
  await refusedThenClosed(started.served.url, started.client);
});
