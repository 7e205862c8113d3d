/**
 * A Redis command's answer awaited no longer than its timeout, measured so
 * that this process's own delays are not blamed on Redis: a timer that
 * fires more than {@linkcode LATE_MS} late found the event loop busy, and
 * the answer may wait unread, or the command not be written yet
 * (node-redis writes it on a later turn). Redis then gets the whole
 * timeout again from then, until a look comes on time or `busyLimitMs`
 * after the command was sent (a process that stays that busy gives up, as
 * on a slow Redis).
 *
 * @module
 */

// How late a timer may fire and still count as on time.
const LATE_MS = 10;

/** Options of {@linkcode withinDeadline}. */
export interface DeadlineOptions {
  /** Longest wait for the answer, ms (again after each late look). */
  timeoutMs: number;
  /** Longest a busy process extends the wait, from the send, ms. */
  busyLimitMs: number;
  /** The error to reject with at the deadline (and to count it by). */
  onTimeout: () => Error;
}

/**
 * `pending`'s outcome, or a rejection with `onTimeout()`'s error when it
 * did not come in time (a late failure of it is then ignored).
 */
export async function withinDeadline<T>(
  pending: Promise<T>,
  options: DeadlineOptions,
): Promise<T> {
  const { timeoutMs, busyLimitMs, onTimeout } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A late failure of an abandoned command must not go unhandled.
  pending.catch(() => {});
  const late = new Promise<never>((_, reject) => {
    const sent = performance.now();
    const look = (due: number) => {
      const now = performance.now();
      if (now - due > LATE_MS && now < sent + busyLimitMs) {
        const again = now + timeoutMs;
        timer = setTimeout(() => look(again), timeoutMs);
        return;
      }
      reject(onTimeout());
    };
    const due = sent + timeoutMs;
    timer = setTimeout(() => look(due), timeoutMs);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}
