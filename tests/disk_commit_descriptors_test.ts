/**
 * A disk upload's commit that meets a shortage of file descriptors never
 * puts the file in place first. The fsync of the folder after the rename
 * opened the folder then: out of descriptors (EMFILE) it failed with
 * `<id>` already in place, and the abort removed the stored file (the
 * client's 503 said "nothing was kept" of an upload that had been kept,
 * and a listing or download in between saw it come and go). Now the
 * folder is opened before the renames and synced through that handle.
 *
 * The shortage is the kernel's answer to that one open: strace injects
 * EMFILE into the `openat` of the folder alone (`-P`). A low `ulimit -n`
 * cannot aim there: the commit closes the upload's own descriptors just
 * before the folder's open, so one process alone always has one free;
 * another thread taking it meanwhile (connections accepted, other
 * uploads' files) is what ran out, and that race is no test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runTool } from "./fixtures/tool.ts";

const PROGRAM = new URL("./fixtures/disk_commit_watched.ts", import.meta.url)
  .pathname;

Deno.test("a commit out of descriptors when it opens the folder: 503-able (EMFILE), and the file never appeared under its id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk-commit-emfile-" });
  try {
    const out = await runTool("strace", [
      ...["-f", "-qq", "-o", "/dev/null", "-P", dir],
      ...["-e", "trace=openat", "-e", "inject=openat:error=EMFILE"],
      ...[Deno.execPath(), "run", "-A", "--no-prompt", PROGRAM, dir],
    ], { install: "apt-get install -y strace" });
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!) as {
      outcome: string;
      events: string[];
    };
    const text = JSON.stringify(result);
    // The route answers this error 503 with Retry-After (error_handler.ts).
    assert.equal(result.outcome, "out-of-descriptors", text);
    // Before: "create 0123…" (the rename), then "remove 0123…" (the abort).
    const id = "0123456789abcdef0123456789abcdef";
    assert.ok(!result.events.some((e) => e.endsWith(` ${id}`)), text);
    const left = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assert.deepEqual(left, ["end"], text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
