/**
 * Conditional requests (RFC 9110 section 13) in one place: strict HTTP-date
 * parsing, the precondition order of `If-Match`, `If-Unmodified-Since`,
 * `If-None-Match` and `If-Modified-Since`, and `If-Range` (entity tags are
 * compared in `etag.ts`). Routes describe their current representation with
 * {@linkcode Validators} and act on the answer.
 *
 * @example Usage
 * ```ts
 * import { evaluatePreconditions } from "./conditional.ts";
 *
 * const outcome = evaluatePreconditions("GET", new Headers(), {
 *   etag: '"abc"',
 *   lastModified: Date.UTC(2026, 0, 1),
 * });
 * outcome; // "proceed"
 * ```
 *
 * @module
 */

import { strongMatch, weakMatch } from "./etag.ts";
import { problem } from "./problem.ts";

/** What identifies the current representation of a resource. */
export interface Validators {
  /** The entity tag, with its quotes (`"abc"` or `W/"abc"`). */
  etag: string;
  /** When it last changed, in ms since the epoch; any sub-second part is ignored. */
  lastModified?: number;
}

/** What a request's preconditions ask for. */
export type PreconditionOutcome =
  /** Serve the request as usual. */
  | "proceed"
  /** Answer 304 Not Modified (`GET`/`HEAD` only). */
  | "not-modified"
  /** Answer 412 Precondition Failed. */
  | "failed";

const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
];

// The three forms RFC 9110 5.6.7 requires recipients to accept.
const IMF_FIXDATE =
  /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE =
  /^([A-Z][a-z]+), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE =
  /^([A-Z][a-z]{2}) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function toTime(
  dayName: string,
  days: readonly string[],
  parts: readonly [day: string, month: string, year: number, ...hms: string[]],
): number | undefined {
  const [day, month, year, hh, mm, ss] = parts;
  const monthIndex = MONTHS.indexOf(month);
  const [h, m, s, d] = [Number(hh), Number(mm), Number(ss), Number(day)];
  if (monthIndex < 0 || h > 23 || m > 59 || s > 60 || d < 1) return undefined;
  const time = Date.UTC(year, monthIndex, d, h, m, Math.min(s, 59));
  const date = new Date(time);
  // Rejects 31 Feb and a weekday that does not fit the date.
  if (date.getUTCDate() !== d || days[date.getUTCDay()] !== dayName) {
    return undefined;
  }
  return time;
}

/**
 * Parses an HTTP-date (RFC 9110 5.6.7): IMF-fixdate, or the obsolete RFC
 * 850 and asctime forms. Anything else, including a date that does not
 * exist or a weekday that does not match, is `undefined`: an invalid date
 * makes a condition be ignored, never guessed at.
 */
export function parseHttpDate(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) {
    return toTime(m[1]!, DAYS, [
      m[2]!,
      m[3]!,
      Number(m[4]),
      m[5]!,
      m[6]!,
      m[7]!,
    ]);
  }
  m = RFC850_DATE.exec(text);
  if (m) {
    // Two-digit years more than 50 years ahead are in the past (RFC 9110).
    const now = new Date().getUTCFullYear();
    let year = Math.floor(now / 100) * 100 + Number(m[4]);
    if (year > now + 50) year -= 100;
    return toTime(m[1]!, LONG_DAYS, [m[2]!, m[3]!, year, m[5]!, m[6]!, m[7]!]);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) {
    return toTime(m[1]!, DAYS, [
      m[3]!.trim(),
      m[2]!,
      Number(m[7]),
      m[4]!,
      m[5]!,
      m[6]!,
    ]);
  }
  return undefined;
}

/** Formats `time` (ms since the epoch) as an IMF-fixdate, to the second. */
export function formatHttpDate(time: number): string {
  return new Date(time).toUTCString();
}

/** `time` rounded down to the second, as HTTP dates carry it. */
export function toSeconds(time: number): number {
  return Math.floor(time / 1000) * 1000;
}

/**
 * Whether a `Last-Modified` of `lastModified` may be sent as a validator
 * by an answer about a version known to be current at `currentAt` (ms since
 * the epoch, taken before the version was looked up): only once it is
 * strong (RFC 9110 8.8.2.2), a full second past the second it names. A
 * version replaced within the second it was stored shares that second with
 * the one after it, so a date handed out during it could name either: a
 * client sending it back in `If-Range` got a range of the new bytes spliced
 * onto the old (13.1.5). From the next second on, the version is the only
 * one an answer ever dated with that second, as the ones before it were
 * replaced within it, before any answer could carry it.
 */
export function strongLastModified(
  lastModified: number,
  currentAt: number,
): boolean {
  return currentAt >= toSeconds(lastModified) + 1000;
}

/**
 * The outcome of a request's preconditions, evaluated in the order of RFC
 * 9110 13.2.2: `If-Match`, else `If-Unmodified-Since`; then
 * `If-None-Match`, else (for `GET`/`HEAD`) `If-Modified-Since`. A date
 * condition is ignored when its date is invalid or the resource has no
 * `lastModified`.
 */
export function evaluatePreconditions(
  method: string,
  headers: Headers,
  validators: Validators,
): PreconditionOutcome {
  const { etag } = validators;
  const modified = validators.lastModified === undefined
    ? undefined
    : toSeconds(validators.lastModified);
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    if (!strongMatch(ifMatch, etag)) return "failed";
  } else if (modified !== undefined) {
    const since = parseHttpDate(headers.get("if-unmodified-since"));
    if (since !== undefined && modified > since) return "failed";
  }
  const safe = method === "GET" || method === "HEAD";
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    if (!weakMatch(ifNoneMatch, etag)) return "proceed";
    return safe ? "not-modified" : "failed";
  }
  if (safe && modified !== undefined) {
    const since = parseHttpDate(headers.get("if-modified-since"));
    if (since !== undefined && modified <= since) return "not-modified";
  }
  return "proceed";
}

/**
 * The 412 of a request whose preconditions failed: problem+json naming the
 * resource, with the current `etag` so the client can tell which version
 * is there.
 */
export function preconditionFailed(instance: string, etag: string): Response {
  return problem(412, {
    detail: "The resource does not match the request's preconditions",
    instance,
  }, { headers: { etag } });
}

/**
 * Whether a `Range` may be applied under the request's `If-Range` (RFC 9110
 * 13.1.5): yes without `If-Range`; with an entity tag, only if it matches
 * `etag` strongly; with a date, only if it equals `lastModified` exactly.
 * Anything else means "send the whole representation".
 */
export function rangeApplies(
  headers: Headers,
  validators: Validators,
): boolean {
  const ifRange = headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith("W/")) {
    return !value.startsWith("W/") && value === validators.etag &&
      !validators.etag.startsWith("W/");
  }
  const date = parseHttpDate(value);
  return date !== undefined && validators.lastModified !== undefined &&
    date === toSeconds(validators.lastModified);
}
