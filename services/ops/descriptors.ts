/**
 * Recognises the errors of a process out of file descriptors (`EMFILE`,
 * `ENFILE`), whatever raised them: `accept()`, opening a file, a socket.
 *
 * Deno 2.9 panics, ending the process, when it formats any stack trace
 * while out of descriptors (its stack-size probe opens /proc/self/maps), so
 * such errors must be handled without ever reading `error.stack`.
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
