/**
 * How a setting is read: {@linkcode ConfigError} for a bad value, the
 * parsers of raw flag/environment text (whole numbers in a range, text,
 * http(s) and redis(s) URLs, S3 bucket names, log levels, forwarded-proto
 * sources, proxy lists, tokens)
 * and the shape of one setting's row.
 *
 * @module
 */

import {
  FORWARDED_PROTO_SOURCES,
  type ForwardedProtoSource,
} from "../http/forwarded.ts";
import { trustedProxyList } from "../http/trusted_proxies.ts";
import { LOG_LEVELS, type LogLevel } from "./logger.ts";
import type { Config } from "./config.ts";

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

/**
 * `raw` in double quotes with JSON escapes, so a value with a line break
 * (an env file's stray newline) still makes a one-line message.
 */
function quoted(raw: string): string {
  return JSON.stringify(raw);
}

/**
 * A URL setting's raw text, quoted, with what stands before an `@` (its
 * userinfo: `REDIS_URL`'s password, credentials in an endpoint) replaced
 * by `***`: a typo must not put a secret on stderr and into the logs.
 */
function quotedUrl(raw: string): string {
  return quoted(raw.replace(/^([^@]*\/\/)?[^/@]*@/, "$1***@"));
}

/** Turns the raw text of a setting into its value, or throws ConfigError. */
export type Parser<T> = (raw: string, env: string) => T;

/** One row of the settings table. */
export interface Setting<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  flag: string;
  default: string | undefined;
  help: string;
  parse: Parser<Config[K]>;
  secret?: boolean;
}

/** A whole number between `min` and `max`. */
export function integer(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): Parser<number> {
  return (raw, env) => {
    if (!/^\d+$/.test(raw.trim())) {
      throw new ConfigError(
        env,
        `${env} must be a whole number, got ${quoted(raw)}`,
      );
    }
    const value = Number(raw.trim());
    if (value < min || value > max) {
      throw new ConfigError(
        env,
        `${env} must be between ${min} and ${max}, got ${raw.trim()}`,
      );
    }
    return value;
  };
}

/** Non-empty text, trimmed. */
export function text(raw: string, env: string): string {
  if (raw.trim() === "") throw new ConfigError(env, `${env} must not be empty`);
  return raw.trim();
}

/** An absolute http(s) URL without query or fragment. */
export function httpUrl(raw: string, env: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      env,
      `${env} must be an absolute URL, got ${quotedUrl(raw)}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(
      env,
      `${env} must be an http(s) URL, got ${quotedUrl(raw)}`,
    );
  }
  if (url.search || url.hash) {
    throw new ConfigError(env, `${env} must not have a query or fragment`);
  }
  // Normalise to no trailing slash so paths can be appended verbatim.
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url;
}

/** `true`/`1` or `false`/`0`. */
export function bool(raw: string, env: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError(
    env,
    `${env} must be true or false, got ${quoted(raw)}`,
  );
}

/**
 * What S3 takes as a bucket name: 3-63 lowercase letters, digits, dots and
 * hyphens, beginning and ending with a letter or digit. The setting is held
 * to it at start, so a typo is one line and exit 2, not a stack trace when
 * the storage opens; `S3Bucket` checks its option against the same rule.
 */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A bucket name as {@linkcode BUCKET_NAME} has it. */
export function bucketName(raw: string, env: string): string {
  const value = raw.trim();
  if (!BUCKET_NAME.test(value)) {
    throw new ConfigError(
      env,
      `${env} must be 3-63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit, got ${
        quoted(raw)
      }`,
    );
  }
  return value;
}

/** A redis:// or rediss:// URL. */
export function redisUrl(raw: string, env: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(
      env,
      `${env} must be an absolute URL, got ${quotedUrl(raw)}`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigError(env, `${env} must be a redis(s):// URL`);
  }
  return url;
}

/** One of {@linkcode LOG_LEVELS}, case-insensitive. */
export function logLevel(raw: string, env: string): LogLevel {
  const value = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(
      env,
      `${env} must be one of ${LOG_LEVELS.join(", ")}, got ${quoted(raw)}`,
    );
  }
  return value as LogLevel;
}

/** One of {@linkcode FORWARDED_PROTO_SOURCES}, case-insensitive. */
export function forwardedProtoSource(
  raw: string,
  env: string,
): ForwardedProtoSource {
  const value = raw.trim().toLowerCase();
  if (!(FORWARDED_PROTO_SOURCES as readonly string[]).includes(value)) {
    throw new ConfigError(
      env,
      `${env} must be one of ${FORWARDED_PROTO_SOURCES.join(", ")}, got ${
        quoted(raw)
      }`,
    );
  }
  return value as ForwardedProtoSource;
}

/** A comma-separated list of addresses and CIDRs; empty is none. */
export function proxyList(raw: string, env: string): string[] {
  try {
    return trustedProxyList(raw);
  } catch (error) {
    throw new ConfigError(
      env,
      `${env} must be a comma-separated list of IP addresses and CIDRs, ${
        (error as Error).message
      } in ${quoted(raw)}`,
    );
  }
}

/** A secret of 16+ characters without whitespace. */
export function token(raw: string, env: string): string {
  if (raw.length < 16 || /\s/.test(raw)) {
    throw new ConfigError(
      env,
      `${env} must be at least 16 characters without whitespace`,
    );
  }
  return raw;
}

/** A setting row, typed by its key (the parser must give that type). */
export function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}
