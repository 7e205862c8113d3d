/**
 * Service settings: read once from command-line flags, then environment
 * variables, then defaults; validated and typed. A bad value raises a
 * {@linkcode ConfigError} naming the setting, which `main.ts` turns into a
 * one-line message and exit code 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LOG_LEVELS, type LogLevel } from "./logger.ts";

/** The validated settings of the service. */
export interface Config {
  port: number;
  host: string;
  upstreamUrl: URL;
  upstreamTimeoutMs: number;
  upstreamRetries: number;
  upstreamConcurrency: number;
  upstreamQueueLimit: number;
  upstreamBreakerThreshold: number;
  upstreamBreakerCooldownMs: number;
  upstreamMaxBytes: number;
  cacheTtlSeconds: number;
  cacheStaleWhileRevalidateSeconds: number;
  cacheStaleIfErrorSeconds: number;
  cacheMaxBytes: number;
  redisUrl: URL | undefined;
  redisTimeoutMs: number;
  dataDir: string;
  maxUploadBytes: number;
  uploadQueueBytes: number;
  uploadWriteBytes: number;
  uploadIdleTimeoutMs: number;
  maxConcurrentUploads: number;
  maxUploadsPerClient: number;
  uploadMinBytesPerSecond: number;
  uploadRateWindowMs: number;
  uploadToken: string | undefined;
  shutdownGraceMs: number;
  maxConnections: number;
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  logLevel: LogLevel;
}

/** Raised for a missing or malformed setting; `main.ts` exits with code 2. */
export class ConfigError extends Error {
  /** The environment variable name of the offending setting. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

type Parser<T> = (raw: string, env: string) => T;

interface Setting<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  flag: string;
  default: string | undefined;
  help: string;
  parse: Parser<Config[K]>;
  secret?: boolean;
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (raw, env) => {
    if (!/^\d+$/.test(raw.trim())) {
      throw new ConfigError(env, `${env} must be a whole number, got "${raw}"`);
    }
    const value = Number(raw.trim());
    if (value < min || value > max) {
      throw new ConfigError(
        env,
        `${env} must be between ${min} and ${max}, got ${raw}`,
      );
    }
    return value;
  };
}

const text: Parser<string> = (raw, env) => {
  if (raw.trim() === "") throw new ConfigError(env, `${env} must not be empty`);
  return raw.trim();
};

const httpUrl: Parser<URL> = (raw, env) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(env, `${env} must be an absolute URL, got "${raw}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(env, `${env} must be an http(s) URL, got "${raw}"`);
  }
  if (url.search || url.hash) {
    throw new ConfigError(env, `${env} must not have a query or fragment`);
  }
  // Normalise to no trailing slash so paths can be appended verbatim.
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
};

const redisUrl: Parser<URL> = (raw, env) => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(env, `${env} must be an absolute URL, got "${raw}"`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigError(env, `${env} must be a redis(s):// URL`);
  }
  return url;
};

const logLevel: Parser<LogLevel> = (raw, env) => {
  const value = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(
      env,
      `${env} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`,
    );
  }
  return value as LogLevel;
};

const token: Parser<string> = (raw, env) => {
  if (raw.length < 16 || /\s/.test(raw)) {
    throw new ConfigError(
      env,
      `${env} must be at least 16 characters without whitespace`,
    );
  }
  return raw;
};

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

/** Every setting, in the order `--help` lists them. */
export const SETTINGS = [
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
    key: "dataDir",
    env: "DATA_DIR",
    flag: "data-dir",
    default: "./data",
    help: "uploads live in DATA_DIR/files",
    parse: text,
  }),
  setting({
    key: "maxUploadBytes",
    env: "MAX_UPLOAD_BYTES",
    flag: "max-upload-bytes",
    default: "1073741824",
    help: "larger uploads get 413",
    parse: integer(0),
  }),
  setting({
    key: "uploadQueueBytes",
    env: "UPLOAD_QUEUE_BYTES",
    flag: "upload-queue-bytes",
    default: "8388608",
    help:
      "capacity in bytes of the reader->writer queue; the reader waits while it is full",
    parse: integer(1024),
  }),
  setting({
    key: "uploadWriteBytes",
    env: "UPLOAD_WRITE_BYTES",
    flag: "upload-write-bytes",
    default: "1048576",
    help:
      "the reader fills buffers of up to this size, and the writer writes each in one call",
    parse: integer(1024, 256 * 1024 * 1024),
  }),
  setting({
    key: "uploadIdleTimeoutMs",
    env: "UPLOAD_IDLE_TIMEOUT_MS",
    flag: "upload-idle-timeout-ms",
    default: "30000",
    help: "an upload with no data for this long gets 408",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "maxConcurrentUploads",
    env: "MAX_CONCURRENT_UPLOADS",
    flag: "max-concurrent-uploads",
    default: "64",
    help: "more uploads at once get 503 with Retry-After",
    parse: integer(1, 100_000),
  }),
  setting({
    key: "maxUploadsPerClient",
    env: "MAX_UPLOADS_PER_CLIENT",
    flag: "max-uploads-per-client",
    default: "8",
    help:
      "more uploads at once from one client address get 429 with Retry-After (0 = no cap)",
    parse: integer(0, 100_000),
  }),
  setting({
    key: "uploadMinBytesPerSecond",
    env: "UPLOAD_MIN_BYTES_PER_SECOND",
    flag: "upload-min-bytes-per-second",
    default: "1024",
    help:
      "an upload averaging less, once past UPLOAD_RATE_WINDOW_MS, gets 408 (0 = no floor)",
    parse: integer(0),
  }),
  setting({
    key: "uploadRateWindowMs",
    env: "UPLOAD_RATE_WINDOW_MS",
    flag: "upload-rate-window-ms",
    default: "10000",
    help: "grace period before UPLOAD_MIN_BYTES_PER_SECOND applies",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "uploadToken",
    env: "UPLOAD_TOKEN",
    flag: "upload-token",
    default: undefined,
    help:
      "when set, POST/DELETE on /files need Authorization: Bearer <token> (16+ characters)",
    parse: token,
    secret: true,
  }),
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
      "most connections open at once; more get 503 and are closed (keep it under ulimit -n)",
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
    key: "logLevel",
    env: "LOG_LEVEL",
    flag: "log-level",
    default: "info",
    help: "debug shows the upload reader/writer trace",
    parse: logLevel,
  }),
] as const satisfies readonly Setting[];

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Command-line arguments. @default {[]} */
  args?: string[];
  /** Reads an environment variable. @default {() => undefined} */
  env?: (name: string) => string | undefined;
}

/**
 * The result of {@linkcode loadConfig}: a request for help, or settings to
 * serve with (or, with `--healthcheck`, to probe a running instance with).
 */
export type LoadConfigResult =
  | { help: true }
  | { help: false; healthcheck: boolean; config: Config };

/**
 * Builds the {@linkcode Config} from flags, then environment, then defaults.
 *
 * @throws {ConfigError} when a value is missing, malformed or out of range,
 * or a flag is unknown.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadConfigResult {
  const { args = [], env = () => undefined } = options;
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        healthcheck: { type: "boolean" },
        ...Object.fromEntries(
          SETTINGS.map((s) => [s.flag, { type: "string" as const }]),
        ),
      },
    }).values;
  } catch (error) {
    throw new ConfigError("args", (error as Error).message.split("\n")[0]!);
  }
  if (flags.help) return { help: true };

  const config: Partial<Record<keyof Config, unknown>> = {};
  for (const s of SETTINGS) {
    const flag = flags[s.flag];
    const raw = typeof flag === "string" ? flag : env(s.env) ?? s.default;
    config[s.key] = raw === undefined ? undefined : s.parse(raw, s.env);
  }
  return {
    help: false,
    healthcheck: flags.healthcheck === true,
    config: config as Config,
  };
}

/** The `--help` text: usage and every setting with its flag and default. */
export function helpText(): string {
  const rows = SETTINGS.flatMap((s) => [
    `  --${s.flag} <value>   env ${s.env}   default ${
      s.default === undefined ? "(unset)" : s.default
    }`,
    `      ${s.help}`,
  ]);
  return [
    "async-api: a cached JSONPlaceholder front and a streaming upload service",
    "",
    "Usage: deno task start [--flag value ...]",
    "       deno run <permissions> main.ts [--flag value ...]",
    "",
    "Each setting comes from its flag, else its environment variable, else",
    "the default. A bad value stops the start with exit code 2.",
    "",
    ...rows,
    "  --healthcheck",
    "      ask the instance on HOST:PORT for /healthz; exit 0 when healthy, else 1",
    "      (for container HEALTHCHECKs, where no curl is at hand)",
    "  -h, --help",
    "      print this help",
  ].join("\n");
}

/** A URL without its password (REDIS_URL may carry one). */
function shownUrl(url: URL): string {
  const shown = new URL(url);
  if (shown.password) shown.password = "***";
  return shown.href.replace(/\/$/, "");
}

/** The settings as a log-safe object: secrets are reported as set or not. */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = config[s.key];
    if ("secret" in s && s.secret) {
      out[s.key] = value === undefined ? "unset" : "set";
    } else {
      out[s.key] = value instanceof URL ? shownUrl(value) : value;
    }
  }
  return out;
}
