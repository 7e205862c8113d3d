/**
 * The live view of the uploads, assembled: the board of this process's
 * uploads in flight, with `REDIS_URL` the relay of every instance's upload
 * events over Redis, the endings of recent uploads (shared in Redis too),
 * and the subscribers of `GET /uploads/events` fed from them (falling back
 * to the shared storage for an upload's ending).
 *
 * @module
 */

import type { Config } from "../../services/ops/config.ts";
import type { Logger } from "../../services/ops/logger.ts";
import type { Metrics } from "../../services/ops/metrics.ts";
import type { RedisLink } from "../../services/redis/redis_link.ts";
import type { FileStorage } from "../../services/storage/storage.ts";
import { UploadBoard } from "../../services/uploads/board.ts";
import { RecentEndings } from "../../services/uploads/endings.ts";
import {
  relayMetrics,
  watcherMetrics,
} from "../../services/uploads/metrics.ts";
import { UploadRelay } from "../../services/uploads/relay.ts";
import { UploadWatchers } from "../../services/uploads/watchers.ts";

/** What {@linkcode createLiveUploads} is built from. */
export interface LiveUploadsOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** Where an upload of another process ends. */
  files: FileStorage;
  /** With `REDIS_URL`, the instance's Redis connections. */
  link: RedisLink | undefined;
}

/** The board, the relay (with `REDIS_URL`) and the subscribers. */
export interface LiveUploads {
  board: UploadBoard;
  relay: UploadRelay | undefined;
  /** For subscribers who come after an upload ended. */
  endings: RecentEndings;
  watchers: UploadWatchers;
}

/** Builds and wires the live view; registers its metrics. */
export function createLiveUploads(options: LiveUploadsOptions): LiveUploads {
  const { config, logger, metrics, files, link } = options;
  const endings = new RecentEndings({ link, logger });
  const board = new UploadBoard({
    onStart: (id) => endings.started(id),
    onEnding: (ending) => endings.ended(ending),
  });
  const relay: UploadRelay | undefined = link
    ? new UploadRelay({
      board,
      link,
      logger,
      onCount: relayMetrics(metrics.registry, () => relay?.size ?? 0),
    })
    : undefined;
  relay?.listen((event) => {
    if (event.type !== "progress") endings.heard(event);
  });
  const watchers: UploadWatchers = new UploadWatchers({
    endings,
    ...(relay ? { remote: relay } : {}),
    board,
    maxWatchers: config.maxUploadWatchers,
    maxPerClient: config.maxUploadWatchersPerClient,
    onChange: watcherMetrics(metrics.registry, () => watchers.count),
    // An upload of another worker or instance ends in the shared storage.
    storedFile: (id) => files.stat(id),
  });
  return { board, relay, endings, watchers };
}
