/**
 * Ctrl-C on `deno task start`, as a terminal sends it: SIGINT to the whole
 * process group, so the service gets it from the terminal and again from
 * the task, which forwards its own copy. One Ctrl-C must drain (the request
 * in flight answered, `shutdown.end` drained); the copy forced the exit
 * (`shutdown.forced`, exit 1, the request cut off).
 *
 * @module
 */

import assert from "node:assert/strict";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The JSON lines of `stream`, each handed to `onRecord` as it comes. */
async function readRecords(
  stream: ReadableStream<Uint8Array>,
  onRecord: (record: Record<string, unknown>) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith("{")) onRecord(JSON.parse(line));
    }
  }
}

Deno.test("one Ctrl-C on deno task start drains: the copy deno task forwards forces nothing", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { delayMs: 1500 });
  // setsid: a process group of its own, as a terminal's foreground job.
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "start"],
    cwd: ROOT,
    env: { PORT: "0", UPSTREAM_URL: upstream.url, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const records: Record<string, unknown>[] = [];
  const listening = Promise.withResolvers<string>();
  const reading = readRecords(child.stdout, (record) => {
    records.push(record);
    if (record.msg === "listening") listening.resolve(record.url as string);
  });
  try {
    const url = await listening.promise;
    const slow = fetch(`${url}/posts/1`);
    await upstream.waitForRequests(1, "/posts/1");
    Deno.kill(-child.pid, "SIGINT");
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, 1);
    await child.status;
    await reading;
    const msgs = records.map((record) => record.msg);
    assert.ok(!msgs.includes("shutdown.forced"), msgs.join(", "));
    const end = records.find((record) => record.msg === "shutdown.end");
    assert.equal(end?.outcome, "drained", msgs.join(", "));
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // the group has exited
    }
    await child.status;
    await reading.catch(() => {});
  }
});
