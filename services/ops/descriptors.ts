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

/** Whether `error` says the process is out of file descriptors. */
export function outOfDescriptors(error: unknown): boolean {
  const { code, message } = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
  };
  return code === "EMFILE" || code === "ENFILE" ||
    /os error 2[34]\b|too many open files/i.test(String(message));
}
