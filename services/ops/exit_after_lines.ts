/**
 * The exit after a line said just before it (`shutdown.forced`,
 * `server.start_abandoned`, `shutdown.end`), at any level. The logger's
 * stdout sink writes off the event loop, in batches (`log_sink.ts`); what
 * still waits at `Deno.exit` is written at `unload`, but not while a write
 * is in flight (the two would interleave), and then it was lost: a second
 * SIGTERM while request lines were being written left no `shutdown.forced`.
 * Here the exit waits for the lines first, as long as a reader that keeps
 * reading needs; a stalled one holds it no longer than
 * {@linkcode LOG_FLUSH_MS} (what is left is dropped). `errorAtExit` stays for
 * the `unload` listeners, where nothing asynchronous completes.
 *
 * @module
 */

import type { Logger } from "./logger.ts";

/** The longest an exit waits for the log lines still being written, ms. */
export const LOG_FLUSH_MS = 1_000;

/** The code of the first exit asked for, once one is. */
let exiting: number | undefined;

/**
 * Exits with `code` once the lines `logger` took so far are written, or
 * after `maxWaitMs`. The first exit asked for stands: a drain ending while
 * a forced exit waits for its line does not make the forced 1 a 0.
 */
export async function exitAfterLines(
  logger: Logger,
  code: number,
  maxWaitMs: number = LOG_FLUSH_MS,
): Promise<never> {
  if (!(maxWaitMs >= 0)) {
    throw new RangeError(`maxWaitMs must be 0 or more: ${maxWaitMs}`);
  }
  exiting ??= code;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise((resolve) => {
    timer = setTimeout(resolve, maxWaitMs);
  });
  await Promise.race([logger.written(), waited]);
  clearTimeout(timer);
  Deno.exit(exiting);
}
