/**
 * The settings table: every setting's key, environment variable, flag,
 * default, `--help` line and parser, grouped by what they configure
 * (listening, upstream, cache, uploads, connections, logging).
 *
 * @module
 */

import {
  bool,
  forwardedProtoSource,
  httpUrl,
  integer,
  logLevel,
  proxyList,
  redisUrl,
  type Setting,
  setting,
  text,
  token,
} from "./config_values.ts";
import { UPLOAD_SETTINGS } from "./upload_settings.ts";

/** Every setting, in the order `--help` lists them. */
export const SETTINGS = [
  // Listening (services/server/).
  setting({
    key: "port",
    env: "PORT",
    flag: "port",
    default: "8000",
    help: "listen port (0 = any free port; the chosen one is logged)",
    parse: integer(0, 65535),
  }),
  setting({
    key: "host",
    env: "HOST",
    flag: "host",
    default: "127.0.0.1",
    help: "listen address",
    parse: text,
  }),
  setting({
    key: "reusePort",
    env: "REUSE_PORT",
    flag: "reuse-port",
    default: "false",
    help:
      "true: listen with SO_REUSEPORT (Linux), so a replacement instance can listen on the same PORT before this one gets SIGTERM; with net.ipv4.tcp_migrate_req=1 the connections queued at its close go to the replacement, not reset (README, Shutdown)",
    parse: bool,
  }),
  setting({
    key: "trustForwardedProto",
    env: "TRUST_FORWARDED_PROTO",
    flag: "trust-forwarded-proto",
    default: "off",
    help:
      "the header a proxy in front sets (overwriting the client's) to name the scheme the client used, believed for the absolute URLs sent (a list's Link): off, x-forwarded-proto or forwarded (RFC 7239 proto=); only http and https are taken",
    parse: forwardedProtoSource,
  }),
  setting({
    key: "trustedProxies",
    env: "TRUSTED_PROXIES",
    flag: "trusted-proxies",
    default: "",
    help:
      "comma-separated addresses and CIDRs of the proxies in front (loopback, linklocal, uniquelocal name ranges); when the peer is one, the client address that per-client limits count by (and the access log names) is the rightmost X-Forwarded-For hop not in the list; empty (the default) trusts none",
    parse: proxyList,
  }),
  // The upstream (services/upstream/).
  setting({
    key: "upstreamUrl",
    env: "UPSTREAM_URL",
    flag: "upstream-url",
    default: "https://jsonplaceholder.typicode.com",
    help: "JSONPlaceholder base URL",
    parse: httpUrl,
  }),
  setting({
    key: "upstreamTimeoutMs",
    env: "UPSTREAM_TIMEOUT_MS",
    flag: "upstream-timeout-ms",
    default: "5000",
    help:
      "budget of one upstream fetch: the wait for a slot, every attempt and the backoff between them (past it: 504, or 503 while still waiting for a slot)",
    parse: integer(1, 600_000),
  }),
  setting({
    key: "upstreamRetries",
    env: "UPSTREAM_RETRIES",
    flag: "upstream-retries",
    default: "2",
    help: "retries after a network error, 429, 502, 503 or 504",
    parse: integer(0, 10),
  }),
  setting({
    key: "upstreamConcurrency",
    env: "UPSTREAM_CONCURRENCY",
    flag: "upstream-concurrency",
    default: "32",
    help: "most upstream requests in flight at once",
    parse: integer(1, 10_000),
  }),
  setting({
    key: "upstreamQueueLimit",
    env: "UPSTREAM_QUEUE_LIMIT",
    flag: "upstream-queue-limit",
    default: "64",
    help:
      "most requests waiting for an upstream slot; more get 503 with Retry-After at once (or stale)",
    parse: integer(0, 1_000_000),
  }),
  setting({
    key: "upstreamClientSharePercent",
    env: "UPSTREAM_CLIENT_SHARE_PERCENT",
    flag: "upstream-client-share-percent",
    default: "50",
    help:
      "percent of UPSTREAM_CONCURRENCY + UPSTREAM_QUEUE_LIMIT one client address may hold, waiting or in flight; more from it get 503 with Retry-After at once (or stale); 100 = no share",
    parse: integer(1, 100),
  }),
  setting({
    key: "upstreamBreakerThreshold",
    env: "UPSTREAM_BREAKER_THRESHOLD",
    flag: "upstream-breaker-threshold",
    default: "5",
    help:
      "consecutive failed upstream attempts that open the circuit breaker (0 = off)",
    parse: integer(0, 10_000),
  }),
  setting({
    key: "upstreamBreakerCooldownMs",
    env: "UPSTREAM_BREAKER_COOLDOWN_MS",
    flag: "upstream-breaker-cooldown-ms",
    default: "5000",
    help:
      "an open breaker answers 503 (or stale) at once for this long, then lets one probe through",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "upstreamMaxBytes",
    env: "UPSTREAM_MAX_BYTES",
    flag: "upstream-max-bytes",
    default: "16777216",
    help: "largest upstream response body accepted (larger: 502)",
    parse: integer(1),
  }),
  setting({
    key: "writeMaxBytes",
    env: "WRITE_MAX_BYTES",
    flag: "write-max-bytes",
    default: "65536",
    help:
      "largest JSON body of a write passed through (POST/PUT/PATCH on the JSONPlaceholder resources; larger: 413)",
    parse: integer(2, 16_777_216),
  }),
  // The response cache (services/cache/).
  setting({
    key: "cacheTtlSeconds",
    env: "CACHE_TTL_SECONDS",
    flag: "cache-ttl-seconds",
    default: "60",
    help: "freshness of a cached upstream response",
    parse: integer(0, 31_536_000),
  }),
  setting({
    key: "cacheStaleWhileRevalidateSeconds",
    env: "CACHE_STALE_WHILE_REVALIDATE_SECONDS",
    flag: "cache-stale-while-revalidate-seconds",
    default: "60",
    help:
      "past freshness, serve the stale response at once and refresh it in the background for this long",
    parse: integer(0, 31_536_000),
  }),
  setting({
    key: "cacheStaleIfErrorSeconds",
    env: "CACHE_STALE_IF_ERROR_SECONDS",
    flag: "cache-stale-if-error-seconds",
    default: "86400",
    help:
      "past freshness, serve the stale response when the upstream fails for this long",
    parse: integer(0, 31_536_000),
  }),
  setting({
    key: "cacheMaxBytes",
    env: "CACHE_MAX_BYTES",
    flag: "cache-max-bytes",
    default: "67108864",
    help: "bound of the in-memory cache",
    parse: integer(1024),
  }),
  setting({
    key: "nginxAccelExpires",
    env: "NGINX_ACCEL_EXPIRES",
    flag: "nginx-accel-expires",
    default: "false",
    help:
      "true: cached reads with an Age say X-Accel-Expires (the seconds they stay fresh here), so an nginx proxy_cache in front, which reads max-age and not Age, keeps them no longer (README, Caching)",
    parse: bool,
  }),
  setting({
    key: "cacheStoredDate",
    env: "CACHE_STORED_DATE",
    flag: "cache-stored-date",
    default: "false",
    help:
      "true: a cached read's Date is when its content was stored (less the upstream's Age), not now, so clients that count age from Date alone (Python CacheControl, pip) keep a copy no longer than the entry here (README, Caching)",
    parse: bool,
  }),
  setting({
    key: "redisUrl",
    env: "REDIS_URL",
    flag: "redis-url",
    default: undefined,
    help:
      "when set, a shared cache tier in Redis behind the in-memory one (redis://[user:password@]host:port[/db]); --allow-net must admit its host",
    parse: redisUrl,
  }),
  setting({
    key: "redisTimeoutMs",
    env: "REDIS_TIMEOUT_MS",
    flag: "redis-timeout-ms",
    default: "100",
    help: "a Redis answer slower than this is a cache miss",
    parse: integer(1, 60_000),
  }),
  setting({
    key: "redisPingIntervalMs",
    env: "REDIS_PING_INTERVAL_MS",
    flag: "redis-ping-interval-ms",
    default: "1000",
    help:
      "each Redis connection is sent a PING this often; one unanswered by the second period (a silent path) is closed and opened again",
    parse: integer(10, 60_000),
  }),
  setting({
    key: "cacheAdminToken",
    env: "CACHE_ADMIN_TOKEN",
    flag: "cache-admin-token",
    default: undefined,
    help:
      "when set, DELETE /cache (purge) exists and needs Authorization: Bearer <token> (16+ characters); unset, the route is absent",
    parse: token,
    secret: true,
  }),
  // Uploads and stored files (services/uploads/, services/storage/).
  ...UPLOAD_SETTINGS,
  // Shutdown and connections (main.ts, services/server/).
  setting({
    key: "shutdownGraceMs",
    env: "SHUTDOWN_GRACE_MS",
    flag: "shutdown-grace-ms",
    default: "10000",
    help: "how long SIGTERM waits for in-flight work",
    parse: integer(0, 3_600_000),
  }),
  setting({
    key: "maxConnections",
    env: "MAX_CONNECTIONS",
    flag: "max-connections",
    default: "10000",
    help:
      "most connections open at once; at it, the one idle longest is closed for a new one, or the new one gets 503 when none is idle",
    parse: integer(1, 1_000_000),
  }),
  setting({
    key: "headerTimeoutMs",
    env: "HEADER_TIMEOUT_MS",
    flag: "header-timeout-ms",
    default: "30000",
    help:
      "a connection that has not sent a complete request head this long after it opened is closed",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "keepAliveTimeoutMs",
    env: "KEEPALIVE_TIMEOUT_MS",
    flag: "keepalive-timeout-ms",
    default: "75000",
    help: "a connection idle this long between requests is closed",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "maxStreamsPerConnection",
    env: "MAX_STREAMS_PER_CONNECTION",
    flag: "max-streams-per-connection",
    default: "32",
    help:
      "most requests handled at once on one HTTP/2 connection (its streams); more wait their turn on it",
    parse: integer(1, 1000),
  }),
  setting({
    key: "maxHttp2ConnectionsPerClient",
    env: "MAX_HTTP2_CONNECTIONS_PER_CLIENT",
    flag: "max-http2-connections-per-client",
    default: "16",
    help:
      "most HTTP/2 (h2c) connections at once from one client address; past it a new one is closed at its first request (0 = no cap)",
    parse: integer(0, 1_000_000),
  }),
  setting({
    key: "maxHttp2Connections",
    env: "MAX_HTTP2_CONNECTIONS",
    flag: "max-http2-connections",
    default: "128",
    help:
      "most HTTP/2 (h2c) connections at once from all clients; past it a new one is closed at its first request (0 = no cap)",
    parse: integer(0, 1_000_000),
  }),
  // Operations (services/ops/).
  setting({
    key: "logLevel",
    env: "LOG_LEVEL",
    flag: "log-level",
    default: "info",
    help:
      "debug shows the upload reader/writer trace, each accepted connection and how a wait for another instance's load ended",
    parse: logLevel,
  }),
] as const satisfies readonly Setting[];
