/**
 * When each text the service serves as it is (its pages and their assets)
 * was made, looked up by the text itself: `text_dates.json` maps a text's
 * strong `ETag` (unquoted) to the date it was first recorded, so every
 * process of a release, and every restart of it, sends the same
 * `Last-Modified` for the same bytes, and a text that changed gets a later
 * one. A date cannot be computed from the bytes alone (a hash is no
 * order: a new release's page could date before the old one's, and
 * `wget -N` would keep the old page), hence the record, which
 * `tests/text_dates_test.ts` holds to the texts served and
 * `tests/fixtures/text_dates.ts` writes. Dated by the process's start
 * before: a client that revalidates by date alone (`wget -N`, `curl -z`)
 * downloaded them again after each restart, and alternately from two
 * instances behind one balancer.
 *
 * @module
 */

import recorded from "./text_dates.json" with { type: "json" };

const dates: Readonly<Record<string, string>> = recorded;

/**
 * The recorded date (ms) of the text tagged `etag` (quoted, as sent), or
 * `undefined` for a text not recorded (`/openapi.json`, which changes
 * with every route's description; a page edited and not yet recorded).
 */
export function recordedDate(etag: string): number | undefined {
  const at = dates[etag.slice(1, -1)];
  return at === undefined ? undefined : Date.parse(at);
}
