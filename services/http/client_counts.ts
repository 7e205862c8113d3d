/**
 * How many of something (uploads, progress subscribers, upstream calls)
 * each client address holds now, for the per-client caps. Only addresses
 * holding one or more are kept, so the map does not grow with every
 * address ever seen.
 *
 * @module
 */

/** Counts per client address; see the module doc. */
export class ClientCounts {
  readonly #counts = new Map<string, number>();

  /** How many `client` holds now. */
  of(client: string): number {
    return this.#counts.get(client) ?? 0;
  }

  /** Counts one more for `client`. */
  add(client: string): void {
    this.#counts.set(client, this.of(client) + 1);
  }

  /** Counts one less for `client`, forgetting it at zero. */
  remove(client: string): void {
    const left = this.of(client) - 1;
    if (left <= 0) this.#counts.delete(client);
    else this.#counts.set(client, left);
  }
}
