/**
 * The store of the uploads, opened at start from the settings: the folder
 * `DATA_DIR/files`, or with `S3_ENDPOINT` the bucket, each without what a
 * crash left behind; the bucket is swept again while the service runs.
 *
 * @module
 */

import { join } from "node:path";
import { type Config, ConfigError } from "../../services/ops/config.ts";
import type { Logger } from "../../services/ops/logger.ts";
import {
  createLocalDiskStorage,
  type LocalDiskStorage,
} from "../../services/storage/local_disk.ts";
import { PeriodicSweep } from "../../services/storage/periodic_sweep.ts";
import { S3Storage } from "../../services/storage/s3.ts";
import {
  type StartRefusal,
  startRefusal,
} from "../../services/storage/s3_start_refusal.ts";
import type { StoreVerdict } from "../../services/storage/s3_health.ts";
import type { FileStorage } from "../../services/storage/storage.ts";

/** The opened store, and how to stop what runs for it in the background. */
export interface OpenedStorage {
  files: FileStorage;
  /** Stops the periodic sweep (with S3_ENDPOINT); waits for one under way. */
  close(): Promise<void>;
}

/**
 * Opens the store `config` names.
 *
 * @throws {ConfigError} naming `DATA_DIR` when its folder cannot be made
 * or read, or the S3 setting the store refuses at start.
 */
export async function openStorage(
  config: Config,
  logger: Logger,
): Promise<OpenedStorage> {
  if (config.s3Endpoint) return await openBucket(config, logger);
  const files = await openFolder(config, logger);
  return { files, close: () => files.close() };
}

/**
 * The store of `DATA_DIR/files`, made if missing. The sweep of the `.part`
 * files a crash left and the build of its index (so GET /files never reads
 * the folder) run in the background: at 300k files they held the start
 * for 33-57 s, every request refused (`index_build.ts`).
 */
async function openFolder(
  config: Config,
  logger: Logger,
): Promise<LocalDiskStorage> {
  try {
    const files = await createLocalDiskStorage({
      dir: join(config.dataDir, "files"),
      logger,
    });
    // A folder that is there but cannot be used stops the start here.
    await files.restoreDir();
    files.startIndexing();
    return files;
  } catch (error) {
    // A DATA_DIR that cannot be a folder here: a setting to fix (exit 2).
    // Outside the granted folders, Deno's "run again with the
    // --allow-write flag" alone misleads: the start task and the compiled
    // binary take no flags.
    const reason = error instanceof Error ? error.message : String(error);
    const hint = error instanceof Deno.errors.NotCapable
      ? " (deno task start grants ./data only, the compiled binary ./data " +
        "and /data; for another folder, deno run with --allow-read and " +
        "--allow-write for it: README, Run it)"
      : "";
    throw new ConfigError(
      "DATA_DIR",
      `cannot use DATA_DIR ${config.dataDir}: ${reason}${hint}`,
    );
  }
}

/**
 * Throws a {@linkcode ConfigError} naming what the store's refusal at
 * start says to fix (no such bucket, a key it does not know, a wrong
 * secret, this host's clock over 15 min off the store's):
 * such an instance used to start, pass `/readyz` and answer 500 to every
 * request of `/files` until someone read its logs.
 */
function refuseMisconfigured(config: Config, error: unknown): void {
  const found = startRefusal(error);
  if (found === undefined) return;
  const refusal = endpointPathRefusal(config.s3Endpoint!, found);
  const reason = error instanceof Error ? error.message : String(error);
  throw new ConfigError(
    refusal.setting,
    `cannot use bucket ${config.s3Bucket} at S3_ENDPOINT ${config.s3Endpoint}` +
      ` (check ${refusal.check}): ${reason}`,
  );
}

/**
 * `refusal`, or, for a bucket missing behind an S3_ENDPOINT with a path,
 * that path to check first: requests go under it, and a store at its root
 * (radosgw, MinIO, AWS) takes its first segment for the bucket. The start
 * said "check S3_BUCKET" of a bucket that was there (`http://gw:7480/s3`).
 */
function endpointPathRefusal(
  endpoint: URL,
  refusal: StartRefusal,
): StartRefusal {
  const path = endpoint.pathname;
  if (refusal.setting !== "S3_BUCKET" || path === "/") return refusal;
  return {
    setting: "S3_ENDPOINT",
    check: `S3_ENDPOINT's path ${path}, which requests go under, ` +
      "then S3_BUCKET",
  };
}

/**
 * Says each turn of `/readyz` for the store (a load balancer's view) once,
 * as a Redis going down or up is said: not each failed request.
 */
function readinessLog(logger: Logger): (verdict: StoreVerdict) => void {
  return (verdict) => {
    if (verdict.ready) return logger.info("files.storage_ready", {});
    logger.warn("files.storage_down", {
      reason: verdict.reason,
      error: verdict.error,
      detail: "/readyz answers 503 until the store serves again",
    });
  };
}

/**
 * The bucket of S3_ENDPOINT, without the multipart uploads of a crashed
 * instance (begun more than the idle timeout ago and without a heartbeat
 * as recent: the others are uploads in progress, here or elsewhere), nor
 * the metadata objects deletes left behind (it lists the whole bucket:
 * at start, then every `S3_LEFTOVER_SWEEP_MS`, an hour by default). A
 * store down at start is logged, not fatal: uploads answer 503 until it is
 * back, the rest serves. A store that refuses the settings at start (no
 * such bucket, wrong credentials, a clock it finds too far off) stops the
 * start (exit 2, naming what to fix).
 *
 * Swept again every `UPLOAD_IDLE_TIMEOUT_MS` while running: an upload cut
 * off by the store going down cannot abort its multipart upload either,
 * and only a restart took it. Those sweeps take uploads silent for the
 * idle timeout plus `S3_TIMEOUT_MS`: a live upload beats three times per
 * idle timeout, and a beat the store is slow to answer holds the next
 * ones back for up to `S3_TIMEOUT_MS`, so the last beat of a live upload
 * is never that old.
 */
async function openBucket(
  config: Config,
  logger: Logger,
): Promise<OpenedStorage> {
  const files = new S3Storage({
    endpoint: config.s3Endpoint!,
    bucket: config.s3Bucket!,
    region: config.s3Region,
    forcePathStyle: config.s3ForcePathStyle,
    accessKeyId: config.awsAccessKeyId!,
    secretAccessKey: config.awsSecretAccessKey!,
    partBytes: config.s3PartBytes,
    partsInFlight: config.s3PartsInFlight,
    timeoutMs: config.s3TimeoutMs,
    // Three beats per idle timeout: a sweep (which aborts uploads silent
    // that long) never takes a live upload for a crashed one.
    heartbeatMs: Math.max(1, Math.floor(config.uploadIdleTimeoutMs / 3)),
    onReadinessChange: readinessLog(logger),
  });
  const onSwept = (removed: number) => logger.warn("files.swept", { removed });
  const onError = (error: unknown) =>
    logger.warn("files.sweep_failed", { error });
  try {
    const swept = await files.sweep(config.uploadIdleTimeoutMs) +
      await files.sweepLeftovers(config.uploadIdleTimeoutMs);
    if (swept > 0) onSwept(swept);
  } catch (error) {
    refuseMisconfigured(config, error);
    onError(error);
  }
  const silentMs = config.uploadIdleTimeoutMs + config.s3TimeoutMs;
  const sweeps = [
    new PeriodicSweep({
      everyMs: config.uploadIdleTimeoutMs,
      sweep: () => files.sweep(silentMs),
      onSwept,
      onError,
    }),
  ];
  // A delete that fails halfway while the service runs leaves its metadata
  // object: before, it stayed until some instance restarted.
  if (config.s3LeftoverSweepMs > 0) {
    sweeps.push(
      new PeriodicSweep({
        everyMs: config.s3LeftoverSweepMs,
        sweep: (signal) =>
          files.sweepLeftovers(config.uploadIdleTimeoutMs, signal),
        onSwept,
        onError,
      }),
    );
  }
  return {
    files,
    close: async () => {
      await Promise.all(sweeps.map((sweep) => sweep.close()));
      files.close();
    },
  };
}
