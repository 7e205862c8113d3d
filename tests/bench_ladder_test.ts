/**
 * Tests of the cached-GET benchmark's ladder: the rung servers send what
 * their rung promises (and nothing of the next), and the report turns the
 * rungs' req/s into step costs, shares and the verdict on the nginx target.
 * Nothing here measures speed: the figures are made up.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type CachedGetResult,
  type Peer,
  type PeerFigures,
  PEERS,
} from "../bench/cached_get.ts";
import type { EquivalentSpec } from "../bench/equivalent_server.ts";
import {
  cachedSection,
  cachedSummary,
  connectionLayerShare,
} from "../bench/cached_report.ts";
import {
  formatStepUs,
  ladderFigures,
  ladderSection,
  ladderSummary,
  nginxVerdict,
} from "../bench/ladder_report.ts";
import { ladderHandler } from "../bench/ladder_server.ts";

/** CPU µs per request of the ladder and nginx: steps 10, 4, 6, 6. */
const CPU: Partial<Record<Peer, number>> = {
  minimal: 10,
  "second-header": 20,
  "all-headers": 24,
  values: 30,
  equivalent: 36,
  guarded: 40,
  service: 50,
  nginx1: 12,
};

/** A run with these req/s; µs per request: 50, 100, 125, 160, 200. */
function result(overrides: Partial<Record<Peer, number>> = {}) {
  const rps: Record<Peer, number> = {
    service: 4000,
    parallel: 7000,
    guarded: 4500,
    equivalent: 5000,
    values: 6250,
    "all-headers": 8000,
    "second-header": 10000,
    nginx1: 12500,
    nginx2: 15000,
    minimal: 20000,
    ...overrides,
  };
  const figures = (peer: Peer): PeerFigures => ({
    requestsPerSecond: rps[peer],
    latencyP50Ms: 1,
    latencyP99Ms: 2,
    cpuUsPerRequest: CPU[peer],
    runs: [],
  });
  const peers = Object.fromEntries(
    PEERS.map((peer) => [peer, figures(peer)]),
  ) as Record<Peer, PeerFigures>;
  return {
    peers,
    connections: 64,
    seconds: 3,
    rounds: 3,
    nginx: "nginx/1.22.1",
    headerNames: ["age", "content-type", "etag", "x-request-id"],
    logFields: ["time", "msg"],
  } satisfies CachedGetResult;
}

Deno.test("ladderFigures() goes minimal to feature-equivalent, each step in µs per request and share of the distance", () => {
  const rungs = ladderFigures(result());
  assert.deepEqual(rungs.map((r) => r.peer), [
    "minimal",
    "second-header",
    "all-headers",
    "values",
    "equivalent",
  ]);
  assert.deepEqual(rungs.map((r) => r.usPerRequest), [50, 100, 125, 160, 200]);
  assert.deepEqual(rungs.map((r) => r.stepUs), [undefined, 50, 25, 35, 40]);
  assert.deepEqual(rungs.map((r) => r.vsMinimal), [1, 0.5, 0.4, 0.3125, 0.25]);
  const shares = rungs.slice(1).map((r) => r.share!);
  assert.equal(shares.reduce((a, b) => a + b, 0), 1);
  assert.equal(shares[0], 50 / 150);
  assert.equal(rungs[2]!.label, "+ all 4 headers");
});

Deno.test("formatStepUs() signs the step; a faster rung (noise) shows as negative", () => {
  assert.equal(formatStepUs(undefined), "—");
  assert.equal(formatStepUs(12.345), "+12.3 µs");
  assert.equal(formatStepUs(-0.4), "−0.4 µs");
});

Deno.test("nginxVerdict() below 1: out of reach without dropping a feature, naming the first rung below nginx", () => {
  assert.equal(
    nginxVerdict(result()),
    'feature-equivalent / nginx 1 worker: 0.40 < 1: the nginx 1-worker target is out of reach on this runtime without dropping a feature; a handler doing only what the service promises is already below nginx, from rung "+ 2nd header" on (0.80 × nginx). Per CPU time: feature-equivalent 36 µs per request, nginx 1 worker 12 µs (master and worker), so 0.33 × nginx\'s requests per CPU second.',
  );
  const unmeasured = result();
  unmeasured.peers.nginx1.cpuUsPerRequest = undefined;
  assert.match(nginxVerdict(unmeasured), /\(0\.80 × nginx\)\.$/);
  assert.match(
    nginxVerdict(result({ nginx1: 25000 })),
    /below nginx; even the minimal `Deno\.serve` is below it \(0\.80 × nginx\)\./,
  );
});

Deno.test("nginxVerdict() at 1 or more: within reach, the distance is the service's own", () => {
  const verdict = nginxVerdict(result({ nginx1: 5000 }));
  assert.match(verdict, /^feature-equivalent \/ nginx 1 worker: 1\.00: /);
  assert.match(verdict, /within reach/);
  assert.doesNotMatch(verdict, /out of reach/);
});

Deno.test("ladderSection() is a table of the rungs and the verdict; cachedSection() includes it and keeps the targets", () => {
  const section = ladderSection(result());
  assert.match(section, /^### Where the distance goes/);
  assert.match(
    section,
    /\| minimal \| .* \| 20,000 \| 1\.00 \| 50 µs \| — \| — \| 10 µs \| — \|/,
  );
  assert.match(
    section,
    /\| \+ 2nd header \| .* \| 10,000 \| 0\.50 \| 100 µs \| \+50 µs \| 33 % \| 20 µs \| \+10 µs \|/,
  );
  assert.match(
    section,
    /\| \+ log line = feature-equivalent \| .* \| 5,000 \| 0\.25 \| 200 µs \| \+40 µs \| 27 % \|/,
  );
  assert.match(section, /\*\*feature-equivalent \/ nginx 1 worker: 0\.40 < 1/);
  const whole = cachedSection(result());
  assert.ok(whole.includes(section));
  assert.match(
    whole,
    /\| async-api req\/s vs nginx 1 worker \| \*\*0\.32\*\* \| ≥ 1 \| ❌ not met \|/,
  );
  // The ladder's peers are rows of the peers' table too.
  assert.match(whole, /\| minimal \+ a constant `ETag` \| 10,000 \|/);
});

Deno.test("connectionLayerShare() splits the service's distance into the connection layer and its own work, in req/s and per CPU second; the targets add the service's requests per CPU second", () => {
  const cached = result();
  const line = connectionLayerShare(cached);
  // guarded 4,500 / equivalent 5,000 req/s; CPU 40 vs 36 µs per request.
  assert.match(
    line,
    /does 0\.90 × its req\/s under `Deno\.serve` \(0\.90 per CPU second\)/,
  );
  // service 4,000 / guarded 4,500 req/s; CPU 50 vs 40 µs per request.
  assert.match(
    line,
    /async-api does 0\.89 × the req\/s of that guarded handler \(0\.80 per CPU second\)/,
  );
  assert.match(
    cachedSection(cached),
    /Where async-api's distance to the feature-equivalent goes/,
  );
  // And the service's requests per CPU second against the equivalent's,
  // as information next to the req/s target: 36 / 50 µs.
  assert.match(
    cachedSection(cached),
    /\| async-api requests per CPU second vs feature-equivalent \| 0\.72 \| — \| info \|/,
  );
  const unmeasured = result();
  unmeasured.peers.guarded.cpuUsPerRequest = undefined;
  assert.doesNotMatch(connectionLayerShare(unmeasured), /per CPU second\)/);
});

Deno.test("ladderSummary() prints one line per rung and the verdict, after the targets in cachedSummary()", () => {
  const lines = ladderSummary(result());
  assert.equal(lines.length, 6);
  assert.match(
    lines[1]!,
    /^cached GET ladder: \+ 2nd header +10,000 req\/s {2}0\.50 x minimal +100 µs\/req {2}step +\+50 µs +33 % {2}cpu +20 µs step +\+10 µs$/,
  );
  assert.match(
    lines[5]!,
    /^cached GET: feature-equivalent \/ nginx 1 worker: 0\.40 < 1/,
  );
  const summary = cachedSummary(result());
  const target = summary.findIndex((l) => /target ≥ 1\) ❌ not met/.test(l));
  assert.ok(target >= 0 && target < summary.indexOf(lines[0]!));
  assert.deepEqual(summary.slice(-6), lines);
});

const spec: EquivalentSpec = {
  path: "/posts/1",
  status: 200,
  body: '{"id":1}',
  headers: [
    ["age", "0"],
    ["content-type", "application/json; charset=utf-8"],
    ["etag", '"abc"'],
    ["x-request-id", "00000000-0000-0000-0000-000000000000"],
  ],
  log: { msg: "request" },
};

Deno.test("ladderHandler() rungs: a second header, then all of them constant, then per-request values", async () => {
  const get = (headers: HeadersInit = {}) =>
    new Request("http://127.0.0.1:1/posts/1", { headers });
  const two = ladderHandler(spec, "second-header")(get());
  assert.deepEqual([...two.headers], [
    ["content-type", "application/json; charset=utf-8"],
    ["etag", '"abc"'],
  ]);
  assert.equal(await two.text(), '{"id":1}');

  const all = ladderHandler(spec, "all-headers");
  const [a, b] = [all(get()), all(get({ "if-none-match": '"abc"' }))];
  assert.deepEqual([...a.headers], spec.headers);
  assert.equal(b.status, 200, "constant: no If-None-Match check");
  assert.equal(await a.text(), '{"id":1}');
  await b.body?.cancel();

  const values = ladderHandler(spec, "values");
  const [c, d] = [values(get()), values(get({ "if-none-match": '"abc"' }))];
  assert.deepEqual(
    [...c.headers].map(([name]) => name),
    spec.headers.map(([name]) => name),
  );
  assert.match(c.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  assert.notEqual(c.headers.get("x-request-id"), spec.headers[3]![1]);
  assert.equal(d.status, 304);
  assert.equal(await c.text(), '{"id":1}');
});

Deno.test("ladderHandler() refuses a spec without the headers its rung sends", () => {
  const bare = { ...spec, headers: [spec.headers[1]!] };
  assert.throws(() => ladderHandler(bare, "second-header"), TypeError);
});
