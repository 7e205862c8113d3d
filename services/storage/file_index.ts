/**
 * The metadata of the stored files, kept in memory in list order (`created`,
 * then `id`) so that a page of `GET /files` costs a binary search and a
 * slice, not a read of every sidecar. `LocalDiskStorage` owns one and
 * keeps it in step with the folder. Each entry may also hold the check of
 * its metadata against the content on disk ({@linkcode ContentCheck}, made
 * by `disk_versions.ts`), so what is known of a file lives in one place.
 *
 * @example Usage
 * ```ts
 * const index = new FileIndex();
 * index.add({ id: "0".repeat(32), size: 1, sha256: "00", created: "2024-01-01T00:00:00.000Z" });
 * const { items } = index.page({ limit: 10 });
 * ```
 *
 * @module
 */

import type { FileMetadata } from "./metadata.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";
import { mergeSorted } from "./merge_sorted.ts";

/**
 * The content a file's metadata was checked against: its identity (see
 * `disk_sidecar.ts`; opaque here) and the listing index's refresh count
 * when the check began (see `DiskVersions.confirm`).
 */
export interface ContentCheck {
  readonly identity: string;
  readonly refresh: number;
}

/** A file in the index: its metadata and, once made, its check. */
export interface IndexEntry {
  readonly meta: FileMetadata;
  readonly check?: ContentCheck | undefined;
}

/** Where a page starts: just after this (`created`, `id`) position. */
export interface IndexPosition {
  created: string;
  id: string;
}

/** Options of {@linkcode FileIndex.page}. */
export interface PageOptions {
  /** Most items in the page (at least 1). */
  limit: number;
  /** Start after this position; the first file when absent. */
  after?: IndexPosition;
}

/** One page of the index. */
export interface IndexPage {
  items: FileMetadata[];
  /** Whether more files follow the last item. */
  more: boolean;
}

// Below this many, inserting one by one beats appending and sorting.
const BULK_THRESHOLD = 16;

/** Orders by `created`, then `id` (ISO 8601 UTC strings sort as times). */
export function compareFiles(a: IndexPosition, b: IndexPosition): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * `entry` as the index keeps it: frozen, its metadata too. One that is
 * already (a refresh's reading, `disk_versions.ts`) is kept as it is: a
 * copy of each of a build's 300k files, made once all were read, was a
 * burst of allocation on the largest heap the build has, in which V8's
 * marking steps held the event loop for 0.3-0.9 s at a time (load 15).
 */
function kept(entry: IndexEntry): IndexEntry {
  const { meta, check } = entry;
  if (Object.isFrozen(entry) && Object.isFrozen(meta)) return entry;
  const frozen = Object.isFrozen(meta) ? meta : Object.freeze({ ...meta });
  return Object.freeze({ meta: frozen, check });
}

/** The sorted metadata of the stored files, with lookup by id. */
export class FileIndex {
  // Sorted by compareFiles. Almost every new file is the newest, so an
  // insert is usually a push; a splice elsewhere moves pointers only.
  #sorted: FileMetadata[] = [];
  #byId = new Map<string, IndexEntry>();

  /** How many files the index holds. */
  get size(): number {
    return this.#sorted.length;
  }

  /** Whether file `id` is indexed. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The metadata of file `id`, if indexed. */
  get(id: string): FileMetadata | undefined {
    return this.#byId.get(id)?.meta;
  }

  /** The entry of file `id`, if indexed. */
  entry(id: string): IndexEntry | undefined {
    return this.#byId.get(id);
  }

  /** The indexed ids, in no particular order. */
  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  /**
   * Adds (or replaces) the metadata of `meta.id`, checked against its
   * content by `check` if given.
   */
  add(meta: FileMetadata, check?: ContentCheck): void {
    this.delete(meta.id);
    const entry = kept({ meta, check });
    this.#sorted.splice(this.#lowerBound(entry.meta), 0, entry.meta);
    this.#byId.set(meta.id, entry);
  }

  /** Records `check` of file `id`'s indexed metadata, if indexed. */
  recheck(id: string, check: ContentCheck): void {
    const entry = this.#byId.get(id);
    if (entry) this.#byId.set(id, Object.freeze({ meta: entry.meta, check }));
  }

  /**
   * Adds many files at once: the new ones sorted, then merged into the
   * list in one pass (O(n + m log m)), where a sort of the whole list cost
   * ~0.4 s at 300k files whenever another process added a few dozen.
   */
  addAll(entries: readonly IndexEntry[]): void {
    if (entries.length <= BULK_THRESHOLD) {
      for (const { meta, check } of entries) this.add(meta, check);
      return;
    }
    const fresh = new Map(entries.map((entry) => [entry.meta.id, entry]));
    // Replaced entries leave first, while the list is still sorted.
    this.deleteAll(fresh.keys());
    const added: FileMetadata[] = [];
    for (const entry of fresh.values()) {
      const keptEntry = kept(entry);
      added.push(keptEntry.meta);
      this.#byId.set(keptEntry.meta.id, keptEntry);
    }
    this.#sorted = mergeSorted(
      this.#sorted,
      added.sort(compareFiles),
      compareFiles,
    );
  }

  /**
   * Adds entries already in list order ({@linkcode compareFiles} of their
   * metadata), such as a chunk of a build sorted in turns: appended when
   * they all come after the list's last file, else merged in (O(n + m)).
   */
  addSorted(entries: readonly IndexEntry[]): void {
    this.deleteAll(entries.map(({ meta }) => meta.id));
    const added = entries.map((entry) => {
      const keptEntry = kept(entry);
      this.#byId.set(keptEntry.meta.id, keptEntry);
      return keptEntry.meta;
    });
    const last = this.#sorted.at(-1);
    if (added.length === 0) return;
    if (last === undefined || compareFiles(last, added[0]!) < 0) {
      for (const meta of added) this.#sorted.push(meta);
    } else this.#sorted = mergeSorted(this.#sorted, added, compareFiles);
  }

  /** Removes file `id`; returns whether it was indexed. */
  delete(id: string): boolean {
    const entry = this.#byId.get(id);
    if (!entry) return false;
    this.#byId.delete(id);
    this.#sorted.splice(this.#lowerBound(entry.meta), 1);
    return true;
  }

  /**
   * Removes the files of `ids` that are indexed, in one pass over the
   * list: one splice each moved the rest of it, so 50k files deleted by
   * another process out of 100k held the event loop for 4.6 s. Returns
   * how many were removed.
   */
  deleteAll(ids: Iterable<string>): number {
    const gone = new Set<FileMetadata>();
    for (const id of ids) {
      const entry = this.#byId.get(id);
      if (entry && this.#byId.delete(id)) gone.add(entry.meta);
    }
    if (gone.size === 0) return 0;
    if (gone.size <= BULK_THRESHOLD) {
      for (const meta of gone) this.#sorted.splice(this.#lowerBound(meta), 1);
    } else {
      this.#sorted = this.#sorted.filter((meta) => !gone.has(meta));
    }
    return gone.size;
  }

  /** Removes every file. */
  clear(): void {
    this.#sorted = [];
    this.#byId.clear();
  }

  /** Up to `limit` files after `after`, in order. */
  page(options: PageOptions): IndexPage {
    const { limit, after } = options;
    checkWholeNumbers({ limit });
    const start = after === undefined ? 0 : this.#upperBound(after);
    const items = this.#sorted.slice(start, start + limit);
    return { items, more: start + limit < this.#sorted.length };
  }

  /** The index of the first entry at or after `position`. */
  #lowerBound(position: IndexPosition): number {
    return this.#search((order) => order < 0, position);
  }

  /** The index of the first entry strictly after `position`. */
  #upperBound(position: IndexPosition): number {
    return this.#search((order) => order <= 0, position);
  }

  /** Binary search for the first entry whose order to `position` is not `before`. */
  #search(
    before: (order: number) => boolean,
    position: IndexPosition,
  ): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(compareFiles(this.#sorted[mid]!, position))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
