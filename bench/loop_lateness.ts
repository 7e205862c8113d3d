/**
 * A watch of the event loop loaded before the service's own modules
 * (`deno run --preload bench/loop_lateness.ts main.ts`), so it measures any
 * checkout the same way: a timer due every {@linkcode TICK_MS} that fires
 * late by as long as the loop was held, each lateness over
 * {@linkcode REPORT_OVER_MS} appended as a JSON line (`at`, the wall clock
 * when it fired, `lateMs`, and `cpuMs`, the main thread's time on a CPU
 * meanwhile, from `/proc/thread-self/schedstat`) to the file
 * `LOOP_LATENESS_FILE` names. On a loaded machine the lateness counts the
 * time the thread waited for a CPU too; `cpuMs` is what the process itself
 * held the loop for (its code and V8's pauses on that thread).
 * `bench/start_many_files.ts` reads the longest one between the first
 * answer and the index built. Without `LOOP_LATENESS_FILE` it does nothing.
 *
 * @module
 */

/** How often the timer is due, ms. */
export const TICK_MS = 5;

/** Shorter lateness is not written, ms. */
export const REPORT_OVER_MS = 20;

/** One lateness written: when the timer fired (ms since the epoch), how late, CPU meanwhile. */
export interface Lateness {
  at: number;
  lateMs: number;
  /** The main thread's CPU time since the tick before, ms (NaN off Linux). */
  cpuMs: number;
}

/** The calling thread's time on a CPU so far, ms (NaN where unknown). */
function threadCpuMs(): number {
  try {
    const text = Deno.readTextFileSync("/proc/thread-self/schedstat");
    return Number(text.split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** The lines of `text` that `watchLoop` wrote. */
export function parseLateness(text: string): Lateness[] {
  return text.split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line) as Lateness
  );
}

/** Starts the watch writing to `file`; the timer does not keep the process alive. */
function watchLoop(file: string): void {
  let due = performance.now() + TICK_MS;
  let cpu = threadCpuMs();
  const tick = () => {
    const now = performance.now();
    const lateMs = now - due;
    const cpuBefore = cpu;
    cpu = threadCpuMs();
    if (lateMs > REPORT_OVER_MS) {
      const line: Lateness = {
        at: Date.now(),
        lateMs: Math.round(lateMs),
        cpuMs: Math.round(cpu - cpuBefore),
      };
      Deno.writeTextFileSync(file, JSON.stringify(line) + "\n", {
        append: true,
      });
    }
    due = performance.now() + TICK_MS;
    Deno.unrefTimer(setTimeout(tick, TICK_MS));
  };
  Deno.unrefTimer(setTimeout(tick, TICK_MS));
}

const file = Deno.env.get("LOOP_LATENESS_FILE");
if (file) watchLoop(file);
