/**
 * The service keeps serving when whoever reads its log lines goes away:
 * `deno task start | some-log-shipper` with the shipper killed, journald
 * restarted, `| head`. The pipe's reader is closed, so every write of a log
 * line fails with EPIPE (`BrokenPipe`); that must cost the lines, not the
 * process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "./fixtures/free_port.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function status(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

Deno.test("a closed stdout (the log reader gone) does not end the service", async () => {
  await using upstream = startFixtureUpstream();
  const dataDir = await Deno.makeTempDir();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      PORT: String(port),
      UPSTREAM_URL: upstream.url,
      DATA_DIR: dataDir,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The log reader goes away before the service writes its first line.
  await child.stdout.cancel();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  child.status.then(() => exited = true);
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(
      async () => exited || await status(`${base}/healthz`) === 200,
      "the service answers",
    );
    if (exited) assert.fail(`the service exited: ${await stderr}`);
    // Each request writes a log line into the closed pipe.
    for (let i = 0; i < 5; i++) {
      assert.equal(await status(`${base}/posts/1`), 200);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await status(`${base}/healthz`), 200, "still serving");
  } finally {
    if (!exited) child.kill("SIGTERM");
  }
  const { code } = await child.status;
  const errors = await stderr;
  assert.equal(code, 0, errors);
  assert.doesNotMatch(errors, /Uncaught|BrokenPipe: Broken pipe/);
  await Deno.remove(dataDir, { recursive: true });
});
