/**
 * The reaper (`fixtures/reaper.ts`), which stops the daemons a dead test
 * process left (found by their pid files), and only them; it refuses a
 * relative folder and odd globs.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { isRunning, startReaper } from "./fixtures/reaper.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";

/** Sleeps (not by `exec`: its command line must keep naming the folder). */
const FAKE_DAEMON = "trap 'kill $!; exit' TERM; sleep 600 & wait";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Starts a detached fake daemon of `dir` and resolves with its pid. */
async function startFakeDaemon(dir: string, name: string): Promise<number> {
  const { success } = await new Deno.Command("setsid", {
    args: [
      ...["-f", "sh", "-c", `echo $$ > "$0/run/${name}.pid"; ${FAKE_DAEMON}`],
      `${dir}/`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(success);
  const pidFile = `${dir}/run/${name}.pid`;
  // `>` makes the file empty, then echo writes the pid and its newline in
  // one write: a whole line is the whole pid.
  await until(
    async () =>
      (await Deno.readTextFile(pidFile).catch(() => "")).endsWith("\n"),
    `${name}.pid written`,
  );
  return Number(await Deno.readTextFile(pidFile));
}

Deno.test("reaper stops the daemons of a dead process, and only them", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/run`);
    const first = await startFakeDaemon(dir, "first");
    const rest = await startFakeDaemon(dir, "rest");
    // Not ours (its command line does not name the folder): left alone.
    const foreign = new Deno.Command("sleep", { args: ["600"] }).spawn();
    await Deno.writeTextFile(`${dir}/run/foreign.pid`, `${foreign.pid}`);
    // The "test process" the reaper outlives.
    const watched = new Deno.Command("sleep", { args: ["600"] }).spawn();
    const also = `${dir}-also`;
    await Deno.mkdir(also);
    try {
      await startReaper({
        dir,
        pid: watched.pid,
        order: ["first.pid"],
        alsoRemove: [also],
      });
      await sleep(1_500);
      assert.ok(await isRunning(first), "it waits while the process runs");

      watched.kill("SIGKILL");
      await watched.status;
      await until(async () => !(await isRunning(first)), "first stopped");
      await until(async () => !(await isRunning(rest)), "rest stopped");
      await until(async () => !(await exists(also)), "alsoRemove removed");
      assert.ok(!(await exists(dir)), "its folder is removed");
      assert.ok(await isRunning(foreign.pid), "a process not of the folder");
      await Deno.mkdir(dir); // for withTempDir to remove
    } finally {
      foreign.kill("SIGKILL");
      await foreign.status;
      if (await isRunning(watched.pid)) watched.kill("SIGKILL");
      await watched.status;
    }
  });
});

Deno.test("reaper refuses a relative folder and odd globs", async () => {
  await assert.rejects(startReaper({ dir: "relative" }), TypeError);
  await assert.rejects(
    startReaper({ dir: "/tmp/x", order: ["a b; rm -rf /"] }),
    TypeError,
  );
});
