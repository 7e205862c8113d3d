/**
 * One client address's share of the upstream: how many of its calls may
 * wait for a slot or hold one at once. The slots and their queue are
 * shared by every client, first come first served, so without a share one
 * client asking for many keys nobody has cached (`/comments?postId=N` for
 * every N) fills them all and every other client's miss is shed with 503
 * (hot keys still answer stale). Past its share a client's next call is
 * shed at once, and the others keep the rest of the queue.
 *
 * The share is of `UPSTREAM_CONCURRENCY + UPSTREAM_QUEUE_LIMIT`, so it
 * follows them when they are changed. Calls with no address (a Unix
 * socket) are not counted.
 *
 * ```ts
 * import { ClientShare } from "./client_share.ts";
 *
 * const share = new ClientShare({ slots: 4, queueLimit: 8, percent: 50 });
 * share.cap; // 6
 * if (share.take("192.0.2.1")) {
 *   try {
 *     // ... wait for a slot, call the upstream
 *   } finally {
 *     share.give("192.0.2.1");
 *   }
 * }
 * ```
 *
 * @module
 */

import { ClientCounts } from "../http/client_counts.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { UpstreamError } from "./error.ts";

/** The share when none is given: half the slots and queue. */
export const DEFAULT_CLIENT_SHARE_PERCENT = 50;

/** Options of {@linkcode ClientShare}. */
export interface ClientShareOptions {
  /** Upstream slots (`UPSTREAM_CONCURRENCY`). */
  slots: number;
  /** Most calls waiting for a slot (`UPSTREAM_QUEUE_LIMIT`). */
  queueLimit: number;
  /**
   * Percent of `slots + queueLimit` one address may hold, waiting or in
   * flight; 100 turns the share off (the queue's own bound is left).
   * @default {DEFAULT_CLIENT_SHARE_PERCENT}
   */
  percent?: number;
}

/** Counts each address's calls against its share. */
export class ClientShare {
  /** Most calls one address may hold at once (`Infinity`: no share). */
  readonly cap: number;
  readonly #held = new ClientCounts();

  constructor(options: ClientShareOptions) {
    const { slots, queueLimit, percent = DEFAULT_CLIENT_SHARE_PERCENT } =
      options;
    checkWholeNumbers({ percent }, { max: 100 });
    // At least one, so a tiny pool still serves every client.
    this.cap = percent === 100
      ? Infinity
      : Math.max(1, Math.floor((slots + queueLimit) * percent / 100));
  }

  /** Calls `client` holds now. */
  heldBy(client: string): number {
    return this.#held.of(client);
  }

  /**
   * Counts one more call for `client` and says `true`, or says `false`
   * (counting nothing) when it holds its share already. `undefined` (no
   * address) is always let through, uncounted.
   */
  take(client: string | undefined): boolean {
    if (client === undefined) return true;
    if (this.#held.of(client) >= this.cap) return false;
    this.#held.add(client);
    return true;
  }

  /** Counts one call of `client` less (one {@linkcode take} said `true`). */
  give(client: string | undefined): void {
    if (client !== undefined) this.#held.remove(client);
  }
}

/** The 503 of a call whose client holds its share (`cap`) already. */
export function overShare(cap: number): UpstreamError {
  return new UpstreamError(
    503,
    `this client has ${cap} upstream requests waiting or in flight ` +
      "already (its share of the upstream's slots and queue)",
    { retryAfterSeconds: 1 },
  );
}
