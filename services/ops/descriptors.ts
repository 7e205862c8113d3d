/**
 * Recognises the errors of a process out of file descriptors (`EMFILE`,
 * `ENFILE`), whatever raised them: `accept()`, opening a file, a socket;
 * and asks whether some are free ({@linkcode descriptorsSpare}).
 *
 * Deno 2.9 panics, ending the process, when it formats a stack trace while
 * out of descriptors and a frame is in a module it has not source-mapped
 * yet (it reads the module's emitted code from its cache, and a failed read
 * ends in its stack-size probe, which opens /proc/self/maps), so such
 * errors must be handled without ever reading `error.stack`; and errors
 * the runtime may raise then are made without frames (connection_set.ts).
 * So a call to a dependency that ran out is tagged where it is caught
 * ({@linkcode NoDescriptorError}): its stack, which would say whose call
 * it was, cannot be read.
 *
 * @module
 */

import { describe } from "./error_chain.ts";

// A failed name lookup. Out of descriptors, glibc's getaddrinfo can open
// neither /etc/hosts nor a socket to the resolver, and says "Name or
// service not known": an upstream named by a host name (the default
// UPSTREAM_URL) failed as 502, counted by the breaker, which stayed open
// for its cooldown after the descriptors were back.
const LOOKUP_FAILED = /dns error|failed to lookup address/i;

/**
 * Whether `error`, or an error in its chain of causes (a fetch's
 * `TypeError` wraps the connect error), says the process is out of file
 * descriptors; or is a failed name lookup while no descriptor is free now
 * (see `LOOKUP_FAILED`: a lookup failed for want of them says nothing
 * else).
 */
export function outOfDescriptors(error: unknown): boolean {
  let lookupFailed = false;
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
    lookupFailed ||= LOOKUP_FAILED.test(String(message));
    e = cause;
  }
  return lookupFailed && !descriptorsSpare(1);
}

/**
 * Whether `count` more file descriptors can be opened now: as many
 * loopback listeners (port 0) are opened and closed at once. Deno has no
 * other way to ask that needs no permission but `--allow-net`, which the
 * start task gives whole; where it cannot be asked (a narrowed
 * `--allow-net`, no loopback), this says `true`, as not knowing did, and
 * a terminal is never prompted for the permission. What is free may be
 * taken just after: ask for a margin.
 */
export function descriptorsSpare(count: number): boolean {
  const loopback = { name: "net", host: "127.0.0.1:0" } as const;
  if (Deno.permissions.querySync(loopback).state !== "granted") return true;
  const held: Deno.Listener[] = [];
  try {
    while (held.length < count) {
      held.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    }
    return true;
  } catch (error) {
    return !outOfDescriptors(error);
  } finally {
    for (const listener of held) listener.close();
  }
}

/** The dependencies whose calls open connections: whose call ran out. */
export type Dependency = "store" | "upstream" | "redis";

/**
 * A call to `dependency` that found no file descriptor free, its error the
 * `cause`: the throttled `request.failed` line of the store's said only
 * `TypeError: fetch failed` (Deno's fetch), which named no dependency.
 */
export class NoDescriptorError extends Error {
  /** Whose call ran out. */
  readonly dependency: Dependency;
  /** As the system's error says (so {@linkcode outOfDescriptors} holds). */
  readonly code = "EMFILE";

  /** Use {@linkcode noDescriptorFor}: this one captures frames. */
  constructor(dependency: Dependency, cause: unknown) {
    super(
      `no file descriptor was free for a call to the ${dependency}: ` +
        describe(cause),
      { cause },
    );
    this.name = "NoDescriptorError";
    this.dependency = dependency;
  }
}

/**
 * `cause` (a call out of descriptors) tagged with its `dependency`, made
 * without frames: nothing of it may ever format a stack (see the module
 * doc).
 */
export function noDescriptorFor(
  dependency: Dependency,
  cause: unknown,
): NoDescriptorError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new NoDescriptorError(dependency, cause);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The dependency a {@linkcode NoDescriptorError} in `error`'s causes names. */
export function dependencyOutOf(error: unknown): Dependency | undefined {
  let e = error;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    if (e instanceof NoDescriptorError) return e.dependency;
    e = e.cause;
  }
  return undefined;
}
