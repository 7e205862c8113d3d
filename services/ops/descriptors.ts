/**
 * Recognises the errors of a process out of file descriptors (`EMFILE`,
 * `ENFILE`), whatever raised them: `accept()`, opening a file, a socket.
 *
 * Deno 2.9 panics, ending the process, when it formats a stack trace while
 * out of descriptors and a frame is in a module it has not source-mapped
 * yet (it reads the module's emitted code from its cache, and a failed read
 * ends in its stack-size probe, which opens /proc/self/maps), so such
 * errors must be handled without ever reading `error.stack`; and errors
 * the runtime may raise then are made without frames (connection_set.ts).
 *
 * @module
 */

/**
 * Whether `error`, or an error in its chain of causes (a fetch's
 * `TypeError` wraps the connect error), says the process is out of file
 * descriptors.
 */
export function outOfDescriptors(error: unknown): boolean {
  // A bounded walk: a chain of causes may loop.
  let e = error;
  for (
    let depth = 0;
    depth < 8 && e !== null && typeof e === "object";
    depth++
  ) {
    const { code, message, cause } = e as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (
      code === "EMFILE" || code === "ENFILE" ||
      /os error 2[34]\b|too many open files/i.test(String(message))
    ) return true;
    e = cause;
  }
  return false;
}
