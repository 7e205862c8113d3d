/**
 * The application: builds the services from a {@linkcode Config}, the route
 * table, and the one request pipeline around it (request id, central error
 * handler, compression, `HEAD`, one JSON log line per request, drain
 * bookkeeping). Its `fetch` is a plain `(req) => Response` function, usable
 * with `Deno.serve`, `deno serve` and in tests without a socket.
 *
 * @module
 */

import { join } from "node:path";
import { MemoryStore } from "../services/cache/memory_store.ts";
import { ResponseCache } from "../services/cache/policy.ts";
import { Compressor } from "../services/http/compression.ts";
import type { CacheStore } from "../services/cache/store.ts";
import type { Config } from "../services/ops/config.ts";
import {
  createFileStore,
  type FileStore,
} from "../services/storage/local_disk.ts";
import {
  JsonPlaceholderClient,
  UpstreamError,
} from "../services/upstream/client.ts";
import type { Logger } from "../services/ops/logger.ts";
import { type ConnectionCounts, Metrics } from "../services/ops/metrics.ts";
import { upstreamGuardMetrics } from "../services/upstream/metrics.ts";
import { problem } from "../services/http/problem.ts";
import { withRequestId } from "../services/http/request_scope.ts";
import {
  UploadsStoppedError,
  UploadTracker,
} from "../services/uploads/tracker.ts";
import { trace } from "@opentelemetry/api";
import { docsRoutes } from "./ops/docs.ts";
import { filesRoutes } from "./files/routes.ts";
import { headOf } from "./head.ts";
import { healthRoutes } from "./ops/health.ts";
import { jsonPlaceholderRoutes } from "./jsonplaceholder/routes.ts";
import { metricsRoutes } from "./ops/metrics.ts";
import { withQueryChecks } from "./query_check.ts";
import { type RouteContext, Router } from "./router.ts";

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
  fetch(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response>;
  /** The route table. */
  readonly router: Router;
  /** The response cache. */
  readonly cache: ResponseCache;
  /** The upstream client. */
  readonly client: JsonPlaceholderClient;
  /** The stored uploads. */
  readonly files: FileStore;
  /** Uploads in flight. */
  readonly uploads: UploadTracker;
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
  /** Releases the upstream connections and waits for background refreshes. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// Metric labels take known methods only, so junk methods cannot grow them.
const METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
]);

/** Honours a well-formed `X-Request-Id`, else makes one. */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * The client's IP address from `Deno.serve`'s handler info (an IPv4 address
 * mapped into IPv6 is given as IPv4, so both count as one client), or
 * `undefined` when unknown (a Unix socket, or no info).
 */
export function clientAddress(
  info: Deno.ServeHandlerInfo | undefined,
): string | undefined {
  const addr = info?.remoteAddr;
  if (addr?.transport !== "tcp" && addr?.transport !== "udp") return undefined;
  return addr.hostname.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
}

/**
 * Turns an unexpected error into a problem response. Known failures keep
 * their status and message; anything else becomes a generic 500 so no
 * internal detail reaches the client. Every 5xx is logged.
 */
export function errorResponse(
  error: unknown,
  ctx: RouteContext,
  logger: Logger,
): Response {
  let response: Response;
  if (error instanceof UpstreamError) {
    const headers = error.retryAfterSeconds === undefined
      ? undefined
      : { "retry-after": String(error.retryAfterSeconds) };
    response = problem(error.status, {
      detail: error.message,
      instance: ctx.url.pathname,
      requestId: ctx.requestId,
      ...(error.upstreamStatus === undefined
        ? {}
        : { upstreamStatus: error.upstreamStatus }),
    }, headers ? { headers } : {});
  } else {
    response = problem(500, {
      detail: "The server failed to handle the request",
      instance: ctx.url.pathname,
      requestId: ctx.requestId,
    });
  }
  logger.error("request.failed", {
    requestId: ctx.requestId,
    path: ctx.url.pathname,
    route: ctx.route,
    status: response.status,
    error,
  });
  return response;
}

/**
 * Builds the application from `config`: makes `DATA_DIR/files` and removes
 * the `.part` files a crash may have left there.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { config, logger, store, connections } = options;
  // The folder first: it is the step that can fail (permissions), and
  // nothing holding resources exists yet.
  const files = await createFileStore({
    dir: join(config.dataDir, "files"),
    logger,
  });
  const swept = await files.sweepPartFiles();
  if (swept > 0) {
    logger.warn("files.swept", { removed: swept, dir: files.dir });
  }
  // The index of the stored files, so GET /files never reads the folder.
  await files.refresh();
  const uploads = new UploadTracker();
  // The sources are read at scrape time, after everything below exists.
  const metrics = new Metrics({
    sources: {
      store: () => cache.store,
      upstreamOpenSlots: () => client.openSlots,
      uploadsActive: () => uploads.active,
      files: () => files.stats(),
      ...(connections ? { connections: () => connections } : {}),
    },
  });
  // The upstream's protections register their own metrics.
  const recordShed = upstreamGuardMetrics(metrics.registry, {
    upstreamQueued: () => client.queued,
    upstreamBreakerState: () => client.breakerState,
  });
  const client = new JsonPlaceholderClient({
    baseUrl: config.upstreamUrl,
    timeoutMs: config.upstreamTimeoutMs,
    retries: config.upstreamRetries,
    concurrency: config.upstreamConcurrency,
    queueLimit: config.upstreamQueueLimit,
    breakerThreshold: config.upstreamBreakerThreshold,
    breakerCooldownMs: config.upstreamBreakerCooldownMs,
    maxBytes: config.upstreamMaxBytes,
    logger,
    onAttempt: (attempt) => metrics.upstream(attempt),
    onShed: recordShed,
  });
  const cache = new ResponseCache({
    store: store ?? new MemoryStore({ maxBytes: config.cacheMaxBytes }),
    ttlSeconds: config.cacheTtlSeconds,
    staleWhileRevalidateSeconds: config.cacheStaleWhileRevalidateSeconds,
    staleIfErrorSeconds: config.cacheStaleIfErrorSeconds,
    logger,
    onOutcome: (outcome) => metrics.cache(outcome),
  });
  let draining = false;
  let inflight = 0;
  // Declared query parameters are checked as the OpenAPI document says.
  const router = new Router(withQueryChecks([
    ...healthRoutes({ draining: () => draining }),
    ...jsonPlaceholderRoutes({ client, cache }),
    ...filesRoutes({
      store: files,
      maxUploadBytes: config.maxUploadBytes,
      queueBytes: config.uploadQueueBytes,
      writeBytes: config.uploadWriteBytes,
      idleTimeoutMs: config.uploadIdleTimeoutMs,
      maxConcurrentUploads: config.maxConcurrentUploads,
      maxUploadsPerClient: config.maxUploadsPerClient,
      minBytesPerSecond: config.uploadMinBytesPerSecond,
      rateGraceMs: config.uploadRateWindowMs,
      token: config.uploadToken,
      draining: () => draining,
      logger,
      onUpload: (event) => metrics.upload(event.outcome, event.result),
    }, uploads),
    ...metricsRoutes(metrics),
    ...docsRoutes((): Router["routes"] => router.routes),
  ]));

  const compressor = new Compressor();

  async function fetch(
    req: Request,
    info?: Deno.ServeHandlerInfo,
  ): Promise<Response> {
    const started = performance.now();
    const remoteAddress = clientAddress(info);
    const ctx: RouteContext = {
      params: {},
      url: new URL(req.url),
      requestId: requestIdOf(req),
      route: undefined,
      log: {},
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    };
    inflight++;
    metrics.inflight(1);
    let response: Response;
    try {
      // Anything the route starts, even what it forgets to await, runs with
      // the request id (see services/http/request_scope.ts).
      response = await withRequestId(
        ctx.requestId,
        () => router.handle(req, ctx),
      );
    } catch (error) {
      response = errorResponse(error, ctx, logger);
    } finally {
      inflight--;
      metrics.inflight(-1);
    }
    try {
      response = await compressor.apply(req, response);
    } catch (error) {
      response = errorResponse(error, ctx, logger);
    }
    const route = ctx.route ?? "unmatched";
    // With OTEL_DENO=true, Deno's server span is active here: name it by
    // the route pattern (bounded), as OpenTelemetry's HTTP conventions ask.
    // Unmatched requests keep the plain method name and no http.route.
    const span = ctx.route === undefined ? undefined : trace.getActiveSpan();
    if (span) {
      span.setAttribute("http.route", route);
      span.updateName(`${req.method} ${route}`);
    }
    if (req.method === "HEAD") response = await headOf(response);
    response.headers.set("x-request-id", ctx.requestId);
    const seconds = (performance.now() - started) / 1000;
    metrics.request(
      route,
      METHODS.has(req.method) ? req.method : "OTHER",
      response.status,
      seconds,
    );
    logger.info("request", {
      method: req.method,
      path: ctx.url.pathname,
      route: ctx.route,
      status: response.status,
      durationMs: Math.round(seconds * 100_000) / 100,
      bytes: Number(response.headers.get("content-length") ?? 0),
      requestId: ctx.requestId,
      ...ctx.log,
    });
    return response;
  }

  async function close(): Promise<void> {
    metrics.close();
    await cache.settled();
    client.close();
    await cache.store.close?.();
  }

  return {
    fetch,
    router,
    cache,
    client,
    files,
    uploads,
    metrics,
    get draining() {
      return draining;
    },
    get inflight() {
      return inflight;
    },
    beginDrain() {
      draining = true;
    },
    abortUploads() {
      return uploads.abortAll(new UploadsStoppedError());
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
