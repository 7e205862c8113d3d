/**
 * Differential test against the real JSONPlaceholder (npm
 * `jsonplaceholder`, under Node): a fixed seed's requests across the whole
 * API (`fixtures/differential_requests.ts`: every resource, items, nested
 * collections, json-server's query language, odd values, `HEAD`, writes),
 * reads from a page on another origin, off-guide writes (forms, text, no
 * body, method overrides), each compared cold, warm and with `If-None-Match`
 * (`fixtures/differential.ts`). Every difference must be one the README
 * documents. Longer runs: `deno run -A tests/fixtures/differential.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compareAll } from "./fixtures/differential.ts";
import {
  assertEveryMethod,
  described,
  differentialPair,
} from "./fixtures/differential_pair.ts";
import {
  differentialRequests,
  loadData,
} from "./fixtures/differential_requests.ts";

Deno.test("150 generated requests answer as the real JSONPlaceholder does, but for the documented differences", async () => {
  await using pair = await differentialPair();
  const requests = differentialRequests(await loadData(), {
    seed: 10,
    count: 150,
  });
  // The run covers what it claims to.
  assertEveryMethod(requests);
  assert.ok(requests.some((r) => /\/\w+\/\d+\/\w+/.test(r.target)));
  assert.ok(requests.some((r) => /[?&]_page=/.test(r.target)));
  assert.ok(requests.some((r) => r.headers?.origin !== undefined), "CORS");
  assert.ok(requests.some((r) => r.rawBody !== undefined), "off-guide write");
  const differences = await compareAll(pair.targets, requests, 4);
  const undocumented = differences.filter((d) => !d.documented);
  assert.equal(undocumented.length, 0, described(undocumented));
  // The documented ones are refusals, none of a plain read (CORS aside:
  // every read from a page differs in its credentials).
  const refusals = differences.filter((d) => !d.kind.includes("cors: "));
  assert.ok(refusals.length < requests.length / 2, described(differences));
  assert.ok(
    differences.some((d) => d.kind.startsWith("cors: ")),
    "reads from a page were compared",
  );
  assert.deepEqual(pair.service.records.filter((r) => r.level === "error"), []);
});
