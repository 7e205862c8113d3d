/**
 * Structured logging: one JSON object per line on stdout (stderr for
 * `error`), filtered by level. Every record carries `time`, `level` and
 * `msg`; callers add fields such as `requestId`.
 *
 * @module
 */

import { outOfDescriptors } from "./descriptors.ts";
import { LogSink } from "./log_sink.ts";

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
  /**
   * Writes an `info` record whatever the level: the few lines an operator
   * needs at any `LOG_LEVEL` (the address listened on, with `PORT=0` the
   * only place the port is told; the shutdown's start and end).
   */
  always(msg: string, fields?: LogFields): void;
  /**
   * Lines lost so far because their stream stalled past the sink's bound
   * or refused them (log_sink.ts); 0 for a logger given its own `write`.
   */
  dropped(): number;
  /** Resolves once the lines logged so far are written (or lost). */
  written(): Promise<void>;
  /**
   * Writes an `error` record on stderr at once, synchronously: for the
   * line said just before `Deno.exit` (in an `unload` listener, where no
   * asynchronous write completes). Through the sink's queue such a line
   * was lost when the exit came first (`server.stopped`, in a CI run).
   */
  errorAtExit(msg: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default {"info"} */
  level?: LogLevel;
  /**
   * Where a finished line goes; defaults to a {@linkcode LogSink} on
   * stdout (stderr for errors).
   */
  write?: (line: string, level: LogLevel) => void;
}

/**
 * The default: a {@linkcode LogSink} on stdout and stderr, whose lines
 * still waiting at `Deno.exit()` are written at `unload`.
 */
function stdSink(): LogSink {
  const sink = new LogSink({ format: lineOf });
  globalThis.addEventListener("unload", () => sink.flushSync());
  return sink;
}

let lastMs = 0;
let lastIso = "";
let lastSecond = NaN;
let secondPrefix = "";
/**
 * The time as ISO 8601, made once per millisecond at most: the date and
 * time up to the second by `toISOString` once a second, the milliseconds
 * added to it (under load the millisecond moves every few lines, and
 * `toISOString` builds a `Date` and formats in the runtime each time).
 */
function now(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    const second = Math.floor(ms / 1000);
    if (second !== lastSecond) {
      lastSecond = second;
      // "…T12:34:56." of "…T12:34:56.000Z".
      secondPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    }
    const milli = ms - second * 1000;
    lastIso = secondPrefix + (milli < 10 ? "00" : milli < 100 ? "0" : "") +
      milli + "Z";
  }
  return lastIso;
}

function serializeError(error: Error): LogFields {
  // Reading the stack while out of descriptors ends the process (see
  // descriptors.ts): such an error is logged without one.
  if (outOfDescriptors(error)) {
    return { name: error.name, message: error.message };
  }
  return { name: error.name, message: error.message, stack: error.stack };
}

let lastAt = "";
let lastMsg = "";
let lastLevelMsg = "";
/**
 * `","level":"<at>","msg":<msg as JSON>`, made again only when the level or
 * message differs from the last line's: nearly every line is a request
 * line, and `JSON.stringify` of the message is a call into the runtime.
 */
function levelMsg(at: LogLevel, msg: string): string {
  if (at !== lastAt || msg !== lastMsg) {
    lastLevelMsg = `","level":"${at}","msg":${JSON.stringify(msg)}`;
    lastAt = at;
    lastMsg = msg;
  }
  return lastLevelMsg;
}

/**
 * One JSON line: `time`, `level` and `msg` first, then `fields`. Written
 * as text around one `JSON.stringify` of `fields` rather than by spreading
 * them into a new record (a copy of every field on each request line).
 */
function lineOf(at: LogLevel, msg: string, fields?: LogFields): string {
  const head = `{"time":"${now()}${levelMsg(at, msg)}`;
  if (fields === undefined) return head + "}";
  let errors: LogFields | undefined;
  // Errors have no enumerable fields; spell them out. A for-in loop is the
  // cheapest check on the per-request path.
  for (const key in fields) {
    const value = fields[key];
    if (value instanceof Error) {
      errors ??= { ...fields };
      errors[key] = serializeError(value);
    }
  }
  // Fields named like the head's replace them, as a spread would.
  if ("time" in fields || "level" in fields || "msg" in fields) {
    return JSON.stringify({ time: now(), level: at, msg, ...errors ?? fields });
  }
  const rest = JSON.stringify(errors ?? fields);
  return rest === "{}" ? head + "}" : head + "," + rest.slice(1);
}

/** Creates a JSON-lines {@linkcode Logger}. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level = "info" } = options;
  const sink = options.write === undefined ? stdSink() : undefined;
  const write = options.write ??
    ((line: string, at: LogLevel) =>
      at === "error" ? sink!.error(line) : sink!.line(line));
  const threshold = LOG_LEVELS.indexOf(level);
  if (threshold < 0) throw new RangeError(`Unknown log level: ${level}`);

  const enabled = (at: LogLevel) => LOG_LEVELS.indexOf(at) >= threshold;
  const log = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (!enabled(at)) return;
    write(lineOf(at, msg, fields), at);
  };
  return {
    level,
    enabled,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    always: (msg, fields) => write(lineOf("info", msg, fields), "info"),
    dropped: () => sink?.dropped ?? 0,
    written: () => sink?.idle() ?? Promise.resolve(),
    errorAtExit: (msg, fields) => {
      const line = lineOf("error", msg, fields);
      if (sink === undefined) write(line, "error");
      else sink.errorSync(line);
    },
  };
}

/** A logger that drops everything; handy in tests. */
export const silentLogger: Logger = createLogger({
  level: "error",
  write: () => {},
});
