/**
 * HTTP-dates and conditional requests (`services/http/conditional.ts`,
 * `etag.ts`): the three HTTP-date forms and nothing else, weak and strong
 * ETag comparison, RFC 9110 13.2.2's order of preconditions, and when
 * `If-Range` applies.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  evaluatePreconditions,
  formatHttpDate,
  parseHttpDate,
  rangeApplies,
} from "../services/http/conditional.ts";
import { strongMatch, weakMatch } from "../services/http/etag.ts";

const NOV_6 = Date.UTC(1994, 10, 6, 8, 49, 37);

Deno.test("parseHttpDate accepts the three HTTP-date forms", () => {
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), NOV_6);
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), NOV_6);
  assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), NOV_6);
  assert.equal(parseHttpDate(formatHttpDate(NOV_6 + 999)), NOV_6);
});

Deno.test("parseHttpDate rejects anything else", () => {
  for (
    const bad of [
      null,
      "",
      "yesterday",
      "1994-11-06T08:49:37Z",
      "Sun, 06 Nov 1994 08:49:37 +0000",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Mon, 06 Nov 1994 08:49:37 GMT", // wrong weekday
      "Thu, 31 Feb 2022 08:49:37 GMT", // no such day
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
      "1700000000",
    ]
  ) {
    assert.equal(parseHttpDate(bad), undefined, String(bad));
  }
});

Deno.test("weakMatch is for If-None-Match, strongMatch for If-Match", () => {
  assert.equal(weakMatch('"a"', '"a"'), true);
  assert.equal(weakMatch('W/"a"', '"a"'), true);
  assert.equal(weakMatch('"x", W/"a"', '"a"'), true);
  assert.equal(weakMatch("*", '"a"'), true);
  assert.equal(weakMatch('"b"', '"a"'), false);
  assert.equal(weakMatch(null, '"a"'), false);
  assert.equal(strongMatch('"a"', '"a"'), true);
  assert.equal(strongMatch('"x" , "a"', '"a"'), true);
  assert.equal(strongMatch('W/"a"', '"a"'), false);
  assert.equal(strongMatch('"a"', 'W/"a"'), false);
  assert.equal(strongMatch("*", '"a"'), true);
});

Deno.test("evaluatePreconditions follows RFC 9110 13.2.2", () => {
  const v = { etag: '"a"', lastModified: NOV_6 + 500 };
  const h = (init: Record<string, string>) => new Headers(init);
  const at = (ms: number) => formatHttpDate(ms);
  const check = (method: string, init: Record<string, string>) =>
    evaluatePreconditions(method, h(init), v);

  assert.equal(check("GET", {}), "proceed");
  assert.equal(check("GET", { "if-none-match": '"a"' }), "not-modified");
  assert.equal(check("HEAD", { "if-none-match": 'W/"a"' }), "not-modified");
  assert.equal(check("DELETE", { "if-none-match": "*" }), "failed");
  // If-Modified-Since, at second precision (sub-second parts ignored).
  assert.equal(
    check("GET", { "if-modified-since": at(NOV_6) }),
    "not-modified",
  );
  assert.equal(
    check("GET", { "if-modified-since": at(NOV_6 + 60_000) }),
    "not-modified",
  );
  assert.equal(
    check("GET", { "if-modified-since": at(NOV_6 - 1000) }),
    "proceed",
  );
  assert.equal(check("GET", { "if-modified-since": "garbage" }), "proceed");
  assert.equal(
    check("POST", { "if-modified-since": at(NOV_6 + 60_000) }),
    "proceed",
  );
  // If-None-Match wins over If-Modified-Since.
  assert.equal(
    check("GET", {
      "if-none-match": '"other"',
      "if-modified-since": at(NOV_6 + 60_000),
    }),
    "proceed",
  );
  // If-Match, else If-Unmodified-Since.
  assert.equal(check("GET", { "if-match": '"other"' }), "failed");
  assert.equal(check("GET", { "if-match": 'W/"a"' }), "failed");
  assert.equal(check("GET", { "if-match": '"a"' }), "proceed");
  assert.equal(
    check("GET", { "if-unmodified-since": at(NOV_6 - 1000) }),
    "failed",
  );
  assert.equal(check("GET", { "if-unmodified-since": at(NOV_6) }), "proceed");
  assert.equal(
    check("GET", {
      "if-match": '"a"',
      "if-unmodified-since": at(NOV_6 - 1000),
    }),
    "proceed",
  );
  // Without a Last-Modified, dates say nothing.
  assert.equal(
    evaluatePreconditions(
      "GET",
      h({ "if-modified-since": at(NOV_6) }),
      { etag: '"a"' },
    ),
    "proceed",
  );
});

Deno.test("rangeApplies takes a strong ETag or the exact Last-Modified", () => {
  const v = { etag: '"a"', lastModified: NOV_6 + 500 };
  const applies = (ifRange?: string) =>
    rangeApplies(
      new Headers(ifRange === undefined ? {} : { "if-range": ifRange }),
      v,
    );
  assert.equal(applies(), true);
  assert.equal(applies('"a"'), true);
  assert.equal(applies('W/"a"'), false);
  assert.equal(applies('"b"'), false);
  assert.equal(applies(formatHttpDate(NOV_6)), true);
  assert.equal(applies(formatHttpDate(NOV_6 + 1000)), false);
  assert.equal(applies(formatHttpDate(NOV_6 - 1000)), false);
  assert.equal(applies("not a date"), false);
});
