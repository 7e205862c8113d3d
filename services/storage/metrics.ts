/**
 * Metrics of the stored files: how many the listing index holds, how often
 * it was refreshed from the folder, and how often the folder was found
 * removed and made again; all read at scrape time.
 *
 * @module
 */

import type { Registry } from "prom-client";
import { mirroredCounter, scrapedGauge } from "../ops/metric_helpers.ts";

/** What the gauges read (the storage's `stats()` fits). */
export interface FileStatsSource {
  /** Files in the listing index. */
  files: number;
  /** Index refreshes so far. */
  refreshes: number;
  /** Times the folder was made again. */
  dirRecreated: number;
}

/**
 * Registers `files_stored`, `files_index_refreshes_total` and
 * `files_dir_recreated_total` on `registry`; `stats` is called at scrape
 * time.
 */
export function storageMetrics(
  registry: Registry,
  stats: () => FileStatsSource,
): void {
  scrapedGauge(registry, {
    name: "files_stored",
    help: "Stored files, as the in-memory index of GET /files counts them",
  }, () => stats().files);
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
