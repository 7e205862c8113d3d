/**
 * Service settings: read once from command-line flags, then environment
 * variables, then defaults; validated and typed. A bad value raises a
 * {@linkcode ConfigError} naming the setting, which `main.ts` turns into a
 * one-line message and exit code 2. The table of settings is in
 * `settings.ts`, the parsers in `config_values.ts`, `--help` in `help.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ForwardedProtoSource } from "../http/forwarded.ts";
import type { LogLevel } from "./logger.ts";
import { ConfigError } from "./config_values.ts";
import { SETTINGS } from "./settings.ts";

export { ConfigError } from "./config_values.ts";
export { helpText } from "./help.ts";
export { SETTINGS } from "./settings.ts";

/** The validated settings of the service. */
export interface Config {
  port: number;
  host: string;
  reusePort: boolean;
  trustForwardedProto: ForwardedProtoSource;
  trustedProxies: readonly string[];
  upstreamUrl: URL;
  upstreamTimeoutMs: number;
  upstreamRetries: number;
  upstreamConcurrency: number;
  upstreamQueueLimit: number;
  upstreamClientSharePercent: number;
  upstreamBreakerThreshold: number;
  upstreamBreakerCooldownMs: number;
  upstreamMaxBytes: number;
  writeMaxBytes: number;
  cacheTtlSeconds: number;
  cacheStaleWhileRevalidateSeconds: number;
  cacheStaleIfErrorSeconds: number;
  cacheMaxBytes: number;
  nginxAccelExpires: boolean;
  cacheStoredDate: boolean;
  redisUrl: URL | undefined;
  redisTimeoutMs: number;
  redisPingIntervalMs: number;
  cacheAdminToken: string | undefined;
  s3Endpoint: URL | undefined;
  s3Bucket: string | undefined;
  s3Region: string;
  s3ForcePathStyle: boolean;
  s3PartBytes: number;
  s3PartsInFlight: number;
  s3TimeoutMs: number;
  s3LeftoverSweepMs: number;
  awsAccessKeyId: string | undefined;
  awsSecretAccessKey: string | undefined;
  dataDir: string;
  maxUploadBytes: number;
  uploadQueueBytes: number;
  uploadWriteBytes: number | undefined;
  uploadIdleTimeoutMs: number;
  downloadIdleTimeoutMs: number;
  maxConcurrentUploads: number;
  maxUploadsPerClient: number;
  uploadMinBytesPerSecond: number;
  uploadRateWindowMs: number;
  uploadToken: string | undefined;
  maxUploadWatchers: number;
  maxUploadWatchersPerClient: number;
  shutdownGraceMs: number;
  maxConnections: number;
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxStreamsPerConnection: number;
  maxHttp2ConnectionsPerClient: number;
  maxHttp2Connections: number;
  logLevel: LogLevel;
}

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
  checkS3(config as Config);
  return {
    help: false,
    healthcheck: flags.healthcheck === true,
    config: config as Config,
  };
}

/** With S3_ENDPOINT, the bucket and both credentials are required. */
function checkS3(config: Config): void {
  if (config.s3Endpoint === undefined) return;
  const needed = [
    ["S3_BUCKET", config.s3Bucket],
    ["AWS_ACCESS_KEY_ID", config.awsAccessKeyId],
    ["AWS_SECRET_ACCESS_KEY", config.awsSecretAccessKey],
  ] as const;
  for (const [env, value] of needed) {
    if (value === undefined) {
      throw new ConfigError(env, `${env} must be set with S3_ENDPOINT`);
    }
  }
}

/** A URL without its password (REDIS_URL may carry one). */
function shownUrl(url: URL): string {
  const shown = new URL(url);
  if (shown.password) shown.password = "***";
  return shown.href.replace(/\/$/, "");
}

/**
 * The settings as a log-safe object, every one of them: secrets are
 * reported as `set` or `unset`, and any other setting without a value as
 * `unset` (left `undefined`, JSON dropped it from the listening line).
 */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = config[s.key];
    if (value === undefined) {
      out[s.key] = "unset";
    } else if ("secret" in s && s.secret) {
      out[s.key] = "set";
    } else {
      out[s.key] = value instanceof URL ? shownUrl(value) : value;
    }
  }
  return out;
}
