/**
 * Metrics of the stored files: how many the listing index holds, whether
 * it is built yet (a start builds it in the background), how often it was
 * refreshed from the folder, and how often the folder was found removed and
 * made again; all read at scrape time.
 *
 * The count waits for the index to catch up with the folder, but only so
 * long: after any change the re-read of a folder of 100k files took 2.4-5.5
 * s, 300k files more than Prometheus's default `scrape_timeout` (10 s), and
 * a scrape that times out loses every metric, not only this one.
 *
 * @module
 */

import { Gauge, type Registry } from "prom-client";
import { mirroredCounter } from "../ops/metric_helpers.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** What the gauges read (the storage's `stats()` fits). */
export interface FileStatsSource {
  /** Files in the listing index. */
  files: number;
  /** Index refreshes so far. */
  refreshes: number;
  /** Times the folder was made again. */
  dirRecreated: number;
  /** Whether the index was built (false while a start still reads it). */
  indexBuilt: boolean;
}

/** Options of {@linkcode storageMetrics}. */
export interface StorageMetricsOptions {
  /**
   * The stats once the index has caught up with the folder, read for
   * `files_stored`. @default {the stats as they are}
   */
  synced?: () => Promise<FileStatsSource>;
  /**
   * Longest a scrape waits for `synced`, ms; past it `files_stored` is the
   * index's count as it is (the re-read goes on, for the next scrape).
   * @default {DEFAULT_SYNC_WAIT_MS}
   */
  syncWaitMs?: number;
}

/** How long a scrape waits for the index to catch up, ms, by default. */
export const DEFAULT_SYNC_WAIT_MS = 1000;

/** `synced()`'s stats if they come within `waitMs`, else `stats()`. */
async function syncedWithin(
  synced: () => Promise<FileStatsSource>,
  stats: () => FileStatsSource,
  waitMs: number,
): Promise<FileStatsSource> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs);
  });
  try {
    return (await Promise.race([synced(), late])) ?? stats();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers `files_stored`, `files_index_built`,
 * `files_index_refreshes_total` and `files_dir_recreated_total` on
 * `registry`; `stats` (and `synced`) are called at scrape time.
 */
export function storageMetrics(
  registry: Registry,
  stats: () => FileStatsSource,
  options: StorageMetricsOptions = {},
): void {
  const {
    synced = () => Promise.resolve(stats()),
    syncWaitMs = DEFAULT_SYNC_WAIT_MS,
  } = options;
  checkWholeNumbers({ syncWaitMs }, { min: 0 });
  new Gauge({
    name: "files_stored",
    help: "Stored files, as the index of GET /files counts them once synced",
    registers: [registry],
    // Every worker of --parallel counts the one shared folder.
    aggregator: "max",
    async collect() {
      this.set((await syncedWithin(synced, stats, syncWaitMs)).files);
    },
  });
  new Gauge({
    name: "files_index_built",
    help:
      "1 once the index of GET /files is built, 0 while a start still reads it (files_stored counts the files read so far)",
    registers: [registry],
    // Under --parallel: 1 once every worker's is.
    aggregator: "min",
    collect() {
      this.set(stats().indexBuilt ? 1 : 0);
    },
  });
  mirroredCounter(registry, {
    name: "files_index_refreshes_total",
    help:
      "Index refreshes from DATA_DIR/files (at start, and when its mtime changed)",
  }, () => stats().refreshes);
  mirroredCounter(registry, {
    name: "files_dir_recreated_total",
    help: "Times DATA_DIR/files was found removed while running and made again",
  }, () => stats().dirRecreated);
}
