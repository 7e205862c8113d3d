/**
 * The request a piece of code runs for, across `await`s and timers
 * (`AsyncLocalStorage`), and the process-wide handler that turns an
 * unhandled promise rejection into an error log line carrying that
 * request's id, instead of ending the process (Deno's default).
 *
 * ```ts ignore
 * using _ = logUnhandledRejections(logger);
 * await withRequestId("abc", () => handle(req));
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "../ops/logger.ts";

const scope = new AsyncLocalStorage<string>();

/** Runs `fn` with `requestId` as the current request's id. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return scope.run(requestId, fn);
}

/** The id of the request the caller runs for, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore();
}

/**
 * From now until disposed, an unhandled rejection is logged as
 * `unhandled_rejection` (level error, with `requestId` when it happened
 * while serving a request) and the process goes on. A rejection nobody
 * awaited is a bug, but one forgotten `await` must not take every other
 * request down with it.
 */
export function logUnhandledRejections(logger: Logger): Disposable {
  const listener = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    const requestId = currentRequestId();
    const reason: unknown = event.reason;
    logger.error("unhandled_rejection", {
      ...(requestId === undefined ? {} : { requestId }),
      error: reason instanceof Error ? reason : String(reason),
    });
  };
  globalThis.addEventListener("unhandledrejection", listener);
  return {
    [Symbol.dispose]() {
      globalThis.removeEventListener("unhandledrejection", listener);
    },
  };
}
