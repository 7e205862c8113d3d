/**
 * `queryChecker` (`services/http/parameters.ts`), which enforces the
 * OpenAPI query parameters' schemas (type, minimum, maximum, enum, lengths,
 * pattern; of each value of a parameter declared as a list, under its name
 * with brackets too, and a list's `maxItems`) and refuses schemas it cannot
 * enforce; and the
 * parameters an operation refuses by name (`refused`).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ParameterObject } from "../services/ops/openapi.ts";
import { queryChecker } from "../services/http/parameters.ts";

const q = (text: string) => new URLSearchParams(text);
const param = (
  name: string,
  schema: ParameterObject["schema"],
): ParameterObject => ({ name, in: "query", schema });

Deno.test("queryChecker enforces type, minimum, maximum, enum, lengths and pattern, on each item of a list", () => {
  const check = queryChecker([
    param("_page", { type: "integer", minimum: 1 }),
    param("limit", { type: "integer", minimum: 1, maximum: 1000, default: 9 }),
    param("ratio", { type: "number", maximum: 1 }),
    param("done", { type: "boolean" }),
    param("_order", { type: "string", enum: ["asc", "desc"] }),
    param("code", { type: "string", pattern: "^[a-z]+$", minLength: 2 }),
    param("note", { type: "string", maxLength: 3 }),
    param("free", { type: "string" }),
    param("ids", { type: "array", items: { type: "integer", minimum: 1 } }),
    { name: "X-Header", in: "header", schema: { type: "integer" } },
  ]);
  for (
    const ok of [
      "",
      "_page=1&_page=20",
      "limit=1000",
      "ratio=0.5",
      "done=false",
      "_order=desc",
      "code=ab",
      "note=abc",
      "free=",
      "undeclared=-5",
      "ids=1",
      "ids=1&ids=2",
    ]
  ) {
    assert.equal(check(q(ok)), undefined, ok);
  }
  const bad: [string, RegExp][] = [
    ["_page=0", /^_page must be >= 1, got "0"$/],
    ["_page=1&_page=0", /_page must be >= 1/],
    ["_page=", /_page must be an integer, got ""/],
    ["_page=1.5", /must be an integer/],
    ["_page=abc", /must be an integer/],
    ["_page=99999999999999999999", /must be an integer/],
    ["limit=1001", /limit must be <= 1000/],
    ["ratio=2", /ratio must be <= 1/],
    ["ratio=x", /must be a number/],
    ["done=yes", /done must be true or false/],
    ["_order=ASC", /_order must be one of asc, desc/],
    ["code=a", /at least 2 characters/],
    ["code=A1", /must match/],
    ["note=abcd", /at most 3 characters/],
    ["ids=1&ids=0", /^ids must be >= 1, got "0"$/],
    ["ids=x", /ids must be an integer/],
  ];
  for (const [query, message] of bad) {
    assert.match(check(q(query)) ?? "", message, query);
  }
});

Deno.test("queryChecker enforces a list's maxItems: how many times its parameter is given, with brackets too", () => {
  const check = queryChecker([
    param("_expand", { type: "array", items: { type: "string" }, maxItems: 2 }),
    param("_page", { type: "integer" }),
  ]);
  for (
    const ok of [
      "_expand=user",
      "_expand=user&_expand=post",
      "_expand=user&title=x&_expand[]=user&_page=1",
    ]
  ) {
    assert.equal(check(q(ok)), undefined, ok);
  }
  for (
    const bad of [
      "_expand=user&_expand=user&_expand=user",
      "_expand=a&_expand[]=b&[_expand]=c",
      "_expand[x]=a&_expand=b&_page=2&_expand=c&_expand=d",
    ]
  ) {
    assert.equal(
      check(q(bad)),
      "_expand must be given at most 2 times, got more",
      bad,
    );
  }
  // A value's own check comes first.
  assert.match(
    check(q("_expand=a&_expand=b&_expand=c&_page=x")) ?? "",
    /^_page must be an integer/,
  );
  for (const maxItems of [-1, 1.5, "2"]) {
    assert.throws(
      () =>
        queryChecker([
          param("p", { type: "array", items: { type: "string" }, maxItems }),
        ]),
      TypeError,
    );
  }
});

Deno.test("queryChecker refuses schemas it cannot enforce", () => {
  for (
    const schema of [
      { type: "array" },
      { type: "array", items: { type: "string" }, minItems: 1 },
      { type: "array", items: { type: "string", format: "date" } },
      { type: "integer", exclusiveMinimum: 0 },
      { type: "string", format: "date" },
      { type: "integer", minimum: "1" },
    ]
  ) {
    assert.throws(() => queryChecker([param("p", schema)]), TypeError);
  }
  assert.throws(
    () =>
      queryChecker([{
        name: "p",
        in: "query",
        required: true,
        schema: { type: "string" },
      }]),
    TypeError,
  );
});

Deno.test("queryChecker refuses parameters by name, every undeclared one with `*`, and reads a name with brackets as json-server files it", () => {
  const check = queryChecker(
    [param("_embed", { type: "array", items: { enum: ["comments"] } })],
    { refused: { _expand: "nothing to expand" } },
  );
  for (const ok of ["", "_embed=comments", "_embed[]=comments", "title=x"]) {
    assert.equal(check(q(ok)), undefined, ok);
  }
  const bad: [string, RegExp][] = [
    ["_expand=user", /^_expand is not taken here: nothing to expand$/],
    ["title=x&_expand[]=user", /^_expand\[\] is not taken here/],
    ["_embed=title", /^_embed must be one of comments, got "title"$/],
    // `qs` files `_embed[]` and `_embed[x]` under `_embed`: the same check.
    ["_embed[]=title", /^_embed\[\] must be one of comments/],
    ["_embed[x]=title", /^_embed\[x\] must be one of comments/],
    ["[_embed]=title", /^\[_embed\] must be one of comments/],
  ];
  for (const [query, message] of bad) {
    assert.match(check(q(query)) ?? "", message, query);
  }
  const closed = queryChecker(
    [param("limit", { type: "integer" })],
    { refused: { "*": "only limit" } },
  );
  assert.equal(closed(q("limit=2")), undefined);
  assert.equal(closed(q("")), undefined);
  assert.equal(closed(q("limit=2&x=1")), "x is not taken here: only limit");
  assert.match(closed(q("limit=x")) ?? "", /limit must be an integer/);
});
