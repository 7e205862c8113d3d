/**
 * The signals that stop the server under `deno run`: the first begins the
 * drain, a second one forces the exit; and the runtime's signal handling
 * readied at the start, while descriptors are free.
 *
 * @module
 */

import { exitAfterLines } from "./exit_after_lines.ts";
import type { Logger } from "./logger.ts";

/**
 * Readies the runtime's signal handling now. Deno sets it up at the
 * process's first signal listener, of any kind, and that setup opens a
 * socket pair: with no descriptor free it panics ("Too many open files",
 * ext/signals/lib.rs:58) and the process ends. The runtime adds one
 * itself, SIGUSR1, on the main thread while it sets up the hash worker's
 * thread (hashing.ts), 0.1 to 0.5 s after the launch, later under load:
 * tests/s3_out_of_descriptors_test.ts's child, which adds no listener,
 * took every descriptor in that window and died so, 1 run in 13. Once set
 * up, a listener of any kind needs no descriptor. Call it before the app
 * (and its hash worker) is built: main.ts added its listeners only after
 * listening. Adding and removing a SIGINT listener leaves SIGINT's default
 * action (the process ends) as it was.
 */
export function readySignals(): void {
  const nothing = () => {};
  Deno.addSignalListener("SIGINT", nothing);
  Deno.removeSignalListener("SIGINT", nothing);
}

/**
 * How long after the first signal the same signal again is taken for a copy
 * of it. Ctrl-C on `deno task start` signals the terminal's whole process
 * group, the task and this process, and the task forwards its copy: the
 * second SIGINT, a few milliseconds later, forced the exit, so a single
 * Ctrl-C never drained (an upload in flight cut off). systemd's default
 * `KillMode=control-group` does the same with SIGTERM.
 */
const SAME_SIGNAL_MS = 1_000;

/**
 * Resolves the first SIGINT/SIGTERM/SIGHUP; from then on, a second one means
 * "now" (exit 1 without draining), unless it is the same signal within
 * {@linkcode SAME_SIGNAL_MS} of the first.
 */
export async function untilSignal(logger: Logger): Promise<string> {
  const { promise: stop, resolve } = Promise.withResolvers<string>();
  // SIGHUP too (a closed terminal, `kill -HUP` meant as a reload): its
  // default action ended the process at once, an upload cut off (curl exit
  // 56) and its `.part` left until the next start's sweep.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const listeners = signals.map((signal) => {
    const listener = () => resolve(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  const signal = await stop;
  const first = performance.now();
  for (const [name, listener] of listeners) {
    Deno.removeSignalListener(name, listener);
  }
  for (const name of signals) {
    Deno.addSignalListener(name, () => {
      if (name === signal && performance.now() - first < SAME_SIGNAL_MS) {
        return;
      }
      logger.warn("shutdown.forced", { signal: name });
      // Not Deno.exit at once: the line was lost when a write of the log
      // was in flight (exit_after_lines.ts).
      void exitAfterLines(logger, 1);
    });
  }
  return signal;
}
