/**
 * The line said just before the process exits reaches its stream. The
 * logger's stdout sink writes off the event loop, in batches; what still
 * waited at `Deno.exit` was written at `unload` unless a write was in
 * flight, and then it was lost: a second SIGTERM while the log was being
 * written left no `shutdown.forced` line. The exit now waits for the lines
 * (`services/ops/exit_after_lines.ts`). The write is held in flight by a
 * reader that stops reading (the pipe, 64 KiB, full) and reads again right
 * after the signal.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "./fixtures/free_port.ts";
import { tempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The status, or `undefined` when nothing answered. */
async function status(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

/** A request body: one chunk, then the rest once `held` resolves. */
function heldBody(held: Promise<void>): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (sent) {
        await held;
        return controller.close();
      }
      sent = true;
      controller.enqueue(new Uint8Array(64 * 1024));
    },
  });
}

const decoder = new TextDecoder();

/** Reads until what was read holds `mark`, or else to the end. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  mark: string | undefined,
): Promise<string> {
  let text = "";
  while (mark === undefined || !text.includes(mark)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

Deno.test("a second SIGTERM while draining: shutdown.forced reaches stdout, though a write of the log was in flight", async () => {
  await using upstream = startFixtureUpstream();
  await using dir = await tempDir({ prefix: "exit_lines-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      PORT: String(port),
      UPSTREAM_URL: upstream.url,
      DATA_DIR: dir.path,
      SHUTDOWN_GRACE_MS: "30000",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const held = Promise.withResolvers<void>();
  // Read as it comes, no stream ahead of the test: the pipe fills.
  const reader = child.stdout.getReader();
  let text = "";
  let uploading: Promise<unknown> = Promise.resolve();
  try {
    await until(async () => await status(`${base}/healthz`) === 200, "up");
    // A running upload holds the drain (a 30 s grace).
    uploading = fetch(`${base}/files`, {
      method: "POST",
      body: heldBody(held.promise),
    }).then((res) => res.body?.cancel(), () => {});
    await until(async () => {
      const res = await fetch(`${base}/uploads`);
      return (await res.json()).items.length === 1;
    }, "the upload runs");
    // Nobody reads stdout yet: ~1.3 KB lines, 250 of them are five pipes
    // full, and the sink's write waits in flight; the lines of 200 more
    // wait behind it, for one write.
    const long = "a".repeat(1_000);
    for (let i = 0; i < 250; i++) {
      assert.equal(await status(`${base}/${long}${i}`), 404, `request ${i}`);
    }
    const piled = [];
    for (let i = 0; i < 200; i++) piled.push(status(`${base}/piled${long}`));
    assert.deepEqual(new Set(await Promise.all(piled)), new Set([404]));
    // Read until that write begins, then no more: it waits in flight
    // with ~200 KB to go.
    text = await readUntil(reader, "/piled");
    child.kill("SIGTERM");
    await until(async () => await status(`${base}/readyz`) !== 200, "drains");
    child.kill("SIGTERM");
  } finally {
    held.resolve();
  }
  // Read again: on main the process had exited at the signal, the line
  // unwritten (the sink skips its flush at `unload` while a write is in
  // flight).
  text += await readUntil(reader, undefined);
  const { code } = await child.status;
  await uploading;
  assert.equal(code, 1);
  const forced = text.split("\n").filter((line) =>
    line.includes('"msg":"shutdown.forced"')
  );
  assert.equal(forced.length, 1, text.slice(-2_000));
  assert.equal(JSON.parse(forced[0]!).signal, "SIGTERM");
});

Deno.test("a warning said just before exitAfterLines reaches stdout, even with a write of the sink in flight", async () => {
  const ops = new URL("../services/ops/", import.meta.url).href;
  // The error starts the sink's write at once; the warning waits behind
  // it, as server.start_abandoned did behind a worker's last lines. With
  // Deno.exit in place of exitAfterLines (serve.ts before), 0 of 5 runs
  // wrote it.
  const script = `import { createLogger } from "${ops}logger.ts";
import { exitAfterLines } from "${ops}exit_after_lines.ts";
const log = createLogger();
log.error("first.in_flight", { n: 1 });
log.warn("server.start_abandoned", { n: 2 });
await exitAfterLines(log, 3);`;
  for (let run = 0; run < 5; run++) {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.equal(code, 3);
    assert.match(
      decoder.decode(stdout),
      /"level":"warn","msg":"server\.start_abandoned","n":2\}\n$/,
    );
  }
});
