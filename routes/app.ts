/**
 * The composition root: {@linkcode createApp} builds the services from a
 * {@linkcode Config} (the file store, the upstream client, the response
 * cache, the metrics), wires the capabilities together (the cache's loader
 * calls the upstream client), assembles the route groups and puts the
 * request pipeline (`routes/pipeline.ts`) around them. The app's `fetch`
 * is a plain `(req) => Response` function, usable with `Deno.serve`,
 * `deno serve` and in tests without a socket.
 *
 * @module
 */

import type { CacheStore } from "../services/cache/store.ts";
import { RedisLink } from "../services/redis/redis_link.ts";
import type { Config } from "../services/ops/config.ts";
import type { Logger } from "../services/ops/logger.ts";
import { Metrics } from "../services/ops/metrics.ts";
import { mirroredCounter } from "../services/ops/metric_helpers.ts";
import { cacheMetrics } from "../services/cache/metrics.ts";
import type { ResponseCache } from "../services/cache/policy.ts";
import {
  type ConnectionCounts,
  connectionMetrics,
} from "../services/server/metrics.ts";
import { storageMetrics } from "../services/storage/metrics.ts";
import { uploadMetrics } from "../services/uploads/metrics.ts";
import type { UploadBoard } from "../services/uploads/board.ts";
import type { UploadRelay } from "../services/uploads/relay.ts";
import type { RecentEndings } from "../services/uploads/endings.ts";
import type { UploadWatchers } from "../services/uploads/watchers.ts";
import { LocalDiskStorage } from "../services/storage/local_disk.ts";
import { S3Storage } from "../services/storage/s3.ts";
import type { FileStorage } from "../services/storage/storage.ts";
import { HashWorker } from "../services/uploads/hashing.ts";
import {
  UploadsStoppedError,
  UploadTracker,
} from "../services/uploads/tracker.ts";
import { JsonPlaceholderClient } from "../services/upstream/client.ts";
import { upstreamMetrics } from "../services/upstream/metrics.ts";
import { docsRoutes } from "./ops/docs.ts";
import { filesRoutes } from "./files/routes.ts";
import { createLiveUploads } from "./files/live_uploads.ts";
import { createCache } from "./app_cache.ts";
import { openStorage } from "./files/open_storage.ts";
import { healthRoutes } from "./ops/health.ts";
import { jsonPlaceholderRoutes } from "./jsonplaceholder/routes.ts";
import { writeRoutes } from "./jsonplaceholder/writes.ts";
import { metricsRoutes } from "./ops/metrics.ts";
import { purgeRoutes } from "./ops/purge.ts";
import { createPipeline } from "./pipeline.ts";
import type { Route, Router } from "./router.ts";

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** The settings. */
  config: Config;
  /** Where request lines and errors go. */
  logger: Logger;
  /** The cache store; an in-memory LRU of `config.cacheMaxBytes` by default. */
  store?: CacheStore;
  /** The server's connection counters, for `/metrics`. */
  connections?: ConnectionCounts;
}

/** The application. */
export interface App extends AsyncDisposable {
  /**
   * Handles one request; `info` (as `Deno.serve` passes it) gives the
   * client address that per-client limits count by.
   */
  fetch(
    req: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response>;
  /** The route table. */
  readonly router: Router;
  /** The response cache. */
  readonly cache: ResponseCache;
  /** The upstream client. */
  readonly client: JsonPlaceholderClient;
  /** The stored uploads. */
  /** With S3_ENDPOINT a bucket, else DATA_DIR/files. */
  readonly files: FileStorage;
  /** Uploads in flight. */
  readonly uploads: UploadTracker;
  /** Uploads in flight by id, with their live figures. */
  readonly board: UploadBoard;
  /** Subscribers of `GET /uploads/events`. */
  readonly watchers: UploadWatchers;
  /** Hashes the uploads on a worker thread. */
  readonly hashing: HashWorker;
  /** The Prometheus metrics. */
  readonly metrics: Metrics;
  /** Whether a shutdown began. */
  readonly draining: boolean;
  /** Requests being handled right now. */
  readonly inflight: number;
  /**
   * Starts the shutdown: `/readyz` and new uploads answer 503 from now on.
   */
  beginDrain(): void;
  /**
   * Stops every running upload (for a shutdown whose grace period ran
   * out): each answers 503 with `Connection: close` and removes its
   * `.part`. Resolves how many there were; `uploads.idle()` tells when
   * they are all done.
   */
  abortUploads(): number;
  /**
   * Ends every upstream call now (for a shutdown whose grace period ran
   * out): each request waiting on one is answered, 503 (504 for a write
   * the upstream had; a stale entry within stale-if-error instead), where
   * the exit closed its connection with no answer.
   */
  stopUpstreamCalls(): void;
  /** Releases the upstream connections and waits for background refreshes. */
  close(): Promise<void>;
}

/** The services the route groups are built on. */
interface Services {
  files: FileStorage;
  uploads: UploadTracker;
  board: UploadBoard;
  watchers: UploadWatchers;
  /** With REDIS_URL, the other instances' uploads. */
  relay: UploadRelay | undefined;
  /** The endings of recent uploads. */
  endings: RecentEndings;
  /** With REDIS_URL, the instance's Redis connections. */
  link: RedisLink | undefined;
  /** Hashes uploads on a worker thread. */
  hashing: HashWorker;
  metrics: Metrics;
  client: JsonPlaceholderClient;
  cache: ResponseCache;
}

/**
 * Builds the application from `config`: makes `DATA_DIR/files` and removes
 * the `.part` files a crash may have left there.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { logger } = options;
  // The folder first: it is the step that can fail (permissions), and
  // nothing holding resources exists yet.
  const storage = await openStorage(options.config, logger);
  const services = createServices(options, storage.files);
  let draining = false;
  const pipeline = createPipeline({
    routes: routeGroups(options, services, {
      draining: () => draining,
      routes: () => pipeline.router.routes,
    }),
    logger,
    metrics: services.metrics,
    sendTimeoutMs: options.config.downloadIdleTimeoutMs,
    trustForwardedProto: options.config.trustForwardedProto,
    trustedProxies: options.config.trustedProxies,
  });
  const close = async () => {
    await Promise.all([storage.close(), pipeline.close()]);
    await closeServices(services);
  };
  return {
    ...services,
    fetch: pipeline.fetch,
    router: pipeline.router,
    get draining() {
      return draining;
    },
    get inflight() {
      return pipeline.inflight;
    },
    beginDrain() {
      draining = true;
      // Event streams end once the last upload's ending is sent: they
      // would hold the server's shutdown open for ever.
      void services.uploads.idle().then(() => services.watchers.close());
    },
    abortUploads() {
      return services.uploads.abortAll(new UploadsStoppedError());
    },
    stopUpstreamCalls() {
      services.client.stop();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The metrics, the upstream client and the cache. The metrics read their
 * sources at scrape time, after everything here exists.
 */
function createServices(
  options: AppOptions,
  files: FileStorage,
): Services {
  const { config, logger, connections } = options;
  const uploads = new UploadTracker();
  const hashing = new HashWorker({ logger });
  // Now, not with the first upload: see HashWorker.start.
  hashing.start();
  // Each capability registers its own metrics on the one registry.
  const metrics = new Metrics();
  const link = redisLinkOf(options);
  const live = createLiveUploads({ config, logger, metrics, files, link });
  const upstreamRecorders = upstreamMetrics(metrics.registry, {
    openSlots: () => client.openSlots,
    queued: () => client.queued,
    breakerState: () => client.breakerState,
  });
  const recordLookup = cacheMetrics(metrics.registry, () => cache.store);
  if (files instanceof LocalDiskStorage) {
    storageMetrics(metrics.registry, () => files.stats(), {
      synced: () => files.syncedStats(),
    });
  }
  if (connections) connectionMetrics(metrics.registry, () => connections);
  mirroredCounter(metrics.registry, {
    name: "log_lines_dropped_total",
    help: "Log lines lost: their stream stalled past the buffer's bound, " +
      "or refused them (reader gone, disk full)",
  }, () => logger.dropped());
  const client = new JsonPlaceholderClient({
    baseUrl: config.upstreamUrl,
    timeoutMs: config.upstreamTimeoutMs,
    retries: config.upstreamRetries,
    concurrency: config.upstreamConcurrency,
    queueLimit: config.upstreamQueueLimit,
    clientSharePercent: config.upstreamClientSharePercent,
    breakerThreshold: config.upstreamBreakerThreshold,
    breakerCooldownMs: config.upstreamBreakerCooldownMs,
    maxBytes: config.upstreamMaxBytes,
    logger,
    ...upstreamRecorders,
  });
  const cache = createCache(options, { metrics, link }, recordLookup);
  return { files, uploads, hashing, ...live, link, metrics, client, cache };
}

/**
 * With REDIS_URL, the one pair of Redis connections of the process, which
 * the cache tier and the upload relay share.
 */
function redisLinkOf({ config, logger }: AppOptions): RedisLink | undefined {
  if (!config.redisUrl) return undefined;
  return new RedisLink({
    url: config.redisUrl.href,
    timeoutMs: config.redisTimeoutMs,
    pingIntervalMs: config.redisPingIntervalMs,
    logger,
  });
}

/** What the route groups read from the running app. */
interface AppState {
  /** Whether a shutdown began. */
  draining: () => boolean;
  /** The final route table, for the API docs. */
  routes: () => readonly Route[];
}

/**
 * Upload buffer sizes when UPLOAD_WRITE_BYTES is unset. On disk every write
 * is a round trip to a blocking thread, two wake-ups that each wait for a
 * core on a busy machine: 2 MiB halves them (1 GiB uploads, interleaved
 * with 1 MiB: faster in 7 of 9 pairs at load 2-4, CPU per GiB -6 to -9%,
 * RSS growth +6 MiB). S3 keeps 1 MiB: its RSS target has no room for more.
 */
const DISK_WRITE_BYTES = 2 * 1024 * 1024;
const S3_WRITE_BYTES = 1024 * 1024;

/** Every route group, in the order the router tries them. */
function routeGroups(
  { config, logger }: AppOptions,
  { files, uploads, hashing, board, watchers, metrics, client, cache }:
    Services,
  state: AppState,
): Route[] {
  // The upload pipeline's metrics, registered with the routes that feed them.
  const recordUpload = uploadMetrics(metrics.registry, {
    active: () => uploads.active,
    bufferBytes: () => uploads.buffers.bytes,
  });
  return [
    ...healthRoutes({
      draining: state.draining,
      ...(files instanceof LocalDiskStorage
        ? { indexing: (waitMs: number) => files.indexing(waitMs) }
        : {}),
      ...(files instanceof S3Storage
        ? { storage: (waitMs: number) => files.readiness(waitMs) }
        : {}),
    }),
    ...jsonPlaceholderRoutes({
      client,
      cache,
      nginxAccelExpires: config.nginxAccelExpires,
      cacheStoredDate: config.cacheStoredDate,
    }),
    ...writeRoutes({
      client,
      cache,
      maxBytes: config.writeMaxBytes,
      bodyTimeoutMs: config.headerTimeoutMs,
    }),
    ...filesRoutes({
      store: files,
      maxUploadBytes: config.maxUploadBytes,
      queueBytes: config.uploadQueueBytes,
      writeBytes: config.uploadWriteBytes ??
        (config.s3Endpoint ? S3_WRITE_BYTES : DISK_WRITE_BYTES),
      idleTimeoutMs: config.uploadIdleTimeoutMs,
      downloadIdleTimeoutMs: config.downloadIdleTimeoutMs,
      maxConcurrentUploads: config.maxConcurrentUploads,
      maxUploadsPerClient: config.maxUploadsPerClient,
      minBytesPerSecond: config.uploadMinBytesPerSecond,
      rateGraceMs: config.uploadRateWindowMs,
      token: config.uploadToken,
      draining: state.draining,
      logger,
      board,
      watchers,
      onUpload: (event) => recordUpload(event.outcome, event.result),
      hash: hashing.hash,
    }, uploads),
    ...purgeRoutes({ cache, token: config.cacheAdminToken }),
    ...metricsRoutes(metrics),
    ...docsRoutes(state.routes),
  ];
}

async function closeServices(
  { metrics, cache, client, watchers, relay, endings, link, hashing }: Services,
): Promise<void> {
  watchers.close();
  relay?.close();
  endings.close();
  metrics.close();
  hashing.close();
  await cache.settled();
  client.close();
  await cache.store.close?.();
  // Last: the cache tier and the relay use it until they are closed.
  await link?.close();
}
