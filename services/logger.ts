/**
 * Structured logging: one JSON object per line on stdout (stderr for
 * `error`), filtered by level. Every record carries `time`, `level` and
 * `msg`; callers add fields such as `requestId`.
 *
 * @module
 */

/** Log levels, from the most verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Extra fields of a log record. */
export type LogFields = Record<string, unknown>;

/** A leveled, structured logger. */
export interface Logger {
  /** The lowest level this logger writes. */
  readonly level: LogLevel;
  /** Whether a record at `level` would be written. */
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default {"info"} */
  level?: LogLevel;
  /** Where a finished line goes; defaults to stdout (stderr for errors). */
  write?: (line: string, level: LogLevel) => void;
}

const encoder = new TextEncoder();

function writeStd(line: string, level: LogLevel): void {
  const out = level === "error" ? Deno.stderr : Deno.stdout;
  // writeSync keeps lines whole and ordered, which matters more for a log
  // than the microseconds an async write would save.
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += out.writeSync(bytes.subarray(written));
  }
}

function serializeError(error: Error): LogFields {
  return { name: error.name, message: error.message, stack: error.stack };
}

/** Creates a JSON-lines {@linkcode Logger}. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level = "info", write = writeStd } = options;
  const threshold = LOG_LEVELS.indexOf(level);
  if (threshold < 0) throw new RangeError(`Unknown log level: ${level}`);

  const enabled = (at: LogLevel) => LOG_LEVELS.indexOf(at) >= threshold;
  const log = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (!enabled(at)) return;
    const record: LogFields = {
      time: new Date().toISOString(),
      level: at,
      msg,
    };
    for (const [key, value] of Object.entries(fields ?? {})) {
      record[key] = value instanceof Error ? serializeError(value) : value;
    }
    write(JSON.stringify(record), at);
  };
  return {
    level,
    enabled,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
  };
}

/** A logger that drops everything; handy in tests. */
export const silentLogger: Logger = createLogger({
  level: "error",
  write: () => {},
});
