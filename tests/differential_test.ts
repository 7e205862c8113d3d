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
  classes,
  type Difference,
} from "./fixtures/differential_documented.ts";
import {
  differentialRequests,
  loadData,
} from "./fixtures/differential_requests.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { serveApp } from "./fixtures/served_app.ts";

function described(differences: readonly Difference[]): string {
  return [...classes(differences)].map(([kind, c]) =>
    `${c.count} x ${kind}: ${c.example.request.method} ` +
    `${c.example.request.target}\n  ${c.example.detail.slice(0, 300)}`
  ).join("\n");
}

Deno.test("150 generated requests answer as the real JSONPlaceholder does, but for the documented differences", async () => {
  await using upstream = await startJsonPlaceholder();
  await using service = await serveApp({
    args: [
      "--upstream-url",
      upstream.url,
      // Each request is compared on its own: a refused query may not shut
      // the others out, nor a slow one on a busy machine time out.
      "--upstream-breaker-threshold",
      "0",
      "--upstream-timeout-ms",
      "30000",
    ],
  });
  const requests = differentialRequests(await loadData(), {
    seed: 10,
    count: 150,
  });
  // The run covers what it claims to.
  const methods = new Set(requests.map((r) => r.method));
  assert.deepEqual([...methods].sort(), [
    "DELETE",
    "GET",
    "HEAD",
    "PATCH",
    "POST",
    "PUT",
  ]);
  assert.ok(requests.some((r) => /\/\w+\/\d+\/\w+/.test(r.target)));
  assert.ok(requests.some((r) => /[?&]_page=/.test(r.target)));
  assert.ok(requests.some((r) => r.headers?.origin !== undefined), "CORS");
  assert.ok(requests.some((r) => r.rawBody !== undefined), "off-guide write");
  const differences = await compareAll(
    { ours: service.url, theirs: upstream.url },
    requests,
    4,
  );
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
  assert.deepEqual(service.records.filter((r) => r.level === "error"), []);
});
