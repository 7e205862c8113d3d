/**
 * Metrics of the stored files: how many the listing index holds, how often
 * it was refreshed from the folder, and how often the folder was found
 * removed and made again; all read at scrape time.
 *
 * @module
 */

import { Gauge, type Registry } from "prom-client";
import { mirroredCounter } from "../ops/metric_helpers.ts";

/** What the gauges read (the storage's `stats()` fits). */
export interface FileStatsSource {
  /** Files in the listing index. */
  files: number;
  /** Index refreshes so far. */
  refreshes: number;
  /** Times the folder was made again. */
  dirRecreated: number;
}

/** Options of {@linkcode storageMetrics}. */
export interface StorageMetricsOptions {
  /**
   * The stats once the index has caught up with the folder, read for
   * `files_stored`. @default {the stats as they are}
   */
  synced?: () => Promise<FileStatsSource>;
}

/**
 * Registers `files_stored`, `files_index_refreshes_total` and
 * `files_dir_recreated_total` on `registry`; `stats` (and `synced`) are
 * called at scrape time.
 */
export function storageMetrics(
  registry: Registry,
  stats: () => FileStatsSource,
  options: StorageMetricsOptions = {},
): void {
  const { synced = () => Promise.resolve(stats()) } = options;
  new Gauge({
    name: "files_stored",
    help: "Stored files, as the index of GET /files counts them once synced",
    registers: [registry],
    // Every worker of --parallel counts the one shared folder.
    aggregator: "max",
    async collect() {
      this.set((await synced()).files);
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
