/**
 * A log reader that stops reading (`deno task start | sleep 3600`, a
 * stalled docker or journald log driver): the pipe fills, and the service
 * must keep answering, still end at `SIGTERM`, keep its memory bounded
 * (lines past the sink's bound dropped and counted), the lines it wrote
 * whole JSON. Also the access line's cut of a client's huge
 * path or method.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { LogSink } from "../services/ops/log_sink.ts";
import { createLogger } from "../services/ops/logger.ts";
import { testApp } from "./fixtures/app.ts";
import { freePort } from "./fixtures/free_port.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { until } from "./fixtures/until.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The status, or `undefined` when no answer came within 5 s. */
async function status(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

/** Every line of `text` is a whole JSON object; returns them. */
function jsonLines(text: string): Record<string, unknown>[] {
  assert.ok(text.endsWith("\n"), "ends with a whole line");
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

Deno.test("a stdout nobody reads stalls no request, and SIGTERM still ends the service", async () => {
  await using upstream = startFixtureUpstream();
  const dataDir = await Deno.makeTempDir();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: { PORT: String(port), UPSTREAM_URL: upstream.url, DATA_DIR: dataDir },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // Nobody reads child.stdout until the end: its pipe (64 KiB) fills.
  let exited = false;
  const ended = child.status.then((s) => (exited = true, s));
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(
      async () => exited || await status(`${base}/healthz`) === 200,
      "the service answers",
    );
    // ~1.3 KB lines: 200 of them are four pipes full.
    const long = "/" + "a".repeat(1_000);
    for (let i = 0; i < 200; i++) {
      assert.equal(await status(base + long + i), 404, `request ${i}`);
    }
    assert.equal(await status(`${base}/healthz`), 200, "still serving");
    child.kill("SIGTERM");
    const waited = new AbortController();
    const code = await Promise.race([
      ended.then((s) => s.code),
      sleep(10_000, undefined, { signal: waited.signal }).catch(() => {}),
    ]);
    waited.abort();
    assert.equal(code, 0, "SIGTERM ended the service");
  } finally {
    if (!exited) child.kill("SIGKILL");
    await ended;
    // What the pipe held: JSON lines, but for the write the exit cut.
    const text = await new Response(child.stdout).text();
    const lines = jsonLines(text.slice(0, text.lastIndexOf("\n") + 1));
    assert.ok(lines.length > 0);
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** A FIFO: a real pipe whose reader is the test. */
async function openPipe() {
  const dir = await Deno.makeTempDir();
  const made = await new Deno.Command("mkfifo", { args: [`${dir}/log`] })
    .output();
  assert.ok(made.success);
  // O_RDWR: the open does not wait for a reader. The test reads through a
  // second opening (one file's reads wait behind its write in flight).
  const writer = await Deno.open(`${dir}/log`, { read: true, write: true });
  const reader = await Deno.open(`${dir}/log`, { read: true });
  return {
    writer,
    reader,
    async [Symbol.asyncDispose]() {
      writer.close();
      reader.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Reads `pipe` until what was read ends with `last`. */
async function readUntil(pipe: Deno.FsFile, last: string): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  while (!text.endsWith(last)) {
    const n = await pipe.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n), { stream: true });
  }
  return text;
}

Deno.test("past its bound a stalled sink drops lines, counts them, and says how many once the reader is back", async () => {
  await using fifo = await openPipe();
  const { writer, reader } = fifo;
  const sink = new LogSink({
    stdout: writer,
    stderr: writer,
    maxPending: 20_000,
  });
  const line = JSON.stringify({ msg: "request", path: "/" + "x".repeat(200) });
  // 60 turns of 40 lines (~530 KB): the pipe takes 64 KiB, the sink 20 KB.
  let sent = 0;
  for (let turn = 0; turn < 60; turn++) {
    for (let i = 0; i < 40; i++, sent++) sink.line(line);
    // The event loop turns: the stalled write is off it.
    await sleep(1);
  }
  const dropped = sink.dropped;
  assert.ok(dropped > 0 && dropped < sent, `${dropped} of ${sent} dropped`);
  // The reader is back; one more line carries the count of the last drops.
  const read = readUntil(reader, '"last"}\n');
  await sink.idle();
  sink.line(JSON.stringify({ msg: "last" }));
  await sink.idle();
  const lines = jsonLines(await read);
  assert.equal(sink.dropped, dropped);
  const notes = lines.filter((l) => l.msg === "log.lines_dropped");
  assert.ok(notes.length > 0);
  assert.equal(notes.reduce((sum, n) => sum + Number(n.dropped), 0), dropped);
  const requests = lines.filter((l) => l.msg === "request");
  assert.equal(requests.length, sent - dropped);
});

Deno.test("the access line keeps 1024 characters of a huge path or method, marked cut", async () => {
  await using upstream = startFixtureUpstream();
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l)) });
  await using t = await testApp(["--upstream-url", upstream.url], { logger });
  const path = "/posts/" + "%0A%22".repeat(5_000);
  await (await t.get(path)).body?.cancel();
  await (await t.get("/posts/1", { method: "X".repeat(5_000) })).body?.cancel();
  const requests = lines.filter((l) => l.msg === "request");
  assert.equal(requests.length, 2);
  assert.equal(requests[0]!.path, path.slice(0, 1024) + "…");
  assert.equal(requests[1]!.method, "X".repeat(1024) + "…");
  for (const request of requests) {
    assert.ok(JSON.stringify(request).length < 3_000);
  }
});

Deno.test("an error said just before Deno.exit reaches stderr, even with a write of the sink in flight", async () => {
  const logger = new URL("../services/ops/logger.ts", import.meta.url).href;
  // The first error starts the sink's asynchronous write; the exit comes
  // before it can finish, as serve.ts's server.stopped did in a CI run.
  const script = `import { createLogger } from "${logger}";
const log = createLogger();
log.error("first.in_flight", { n: 1 });
log.errorAtExit("last.before_exit", { n: 2 });
Deno.exit(1);`;
  for (let run = 0; run < 5; run++) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 1);
    const text = new TextDecoder().decode(stderr);
    assert.match(text, /"level":"error","msg":"last\.before_exit","n":2\}\n/);
  }
});
