/**
 * The runtime's signal handling is set up at the process's first signal
 * listener, and that setup panicked with no descriptor free ("Too many
 * open files", ext/signals/lib.rs:58). The runtime adds SIGUSR1 itself
 * while it sets up the hash worker's thread, up to 0.5 s after the launch:
 * tests/s3_out_of_descriptors_test.ts's child died so, 1 run in 13 under
 * load. `readySignals()` (main.ts's
 * start) sets it up while descriptors are free; a listener added later,
 * starved, needs none. The child (tests/fixtures/signals_starved.ts) runs
 * under `ulimit -n 64`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runUnderUlimit } from "./fixtures/under_ulimit.ts";

const PROGRAM = new URL("./fixtures/signals_starved.ts", import.meta.url)
  .pathname;

Deno.test({
  name:
    "signals: a listener added with every descriptor taken, after readySignals, does not panic the process",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const { code, stdout: out, stderr: err } = await runUnderUlimit(
      64,
      PROGRAM,
    );
    assert.doesNotMatch(err, /panicked/, err);
    assert.equal(code, 0, err);
    // Every descriptor was taken (a few dozen under 64), then freed.
    assert.match(out, /^added, [1-9]\d* held$/m, out + err);
  },
});
