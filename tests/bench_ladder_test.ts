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
  cachedTargetRows,
  connectionLayerShare,
} from "../bench/cached_report.ts";
import {
  formatStepUs,
  ladderFigures,
  ladderSection,
  ladderSummary,
  nginxVerdict,
} from "../bench/ladder_report.ts";
import { encodedBodies } from "../bench/equivalent_server.ts";
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

/**
 * The machine's load in each of the three rounds: the second round halves
 * every peer's req/s, which paired ratios cancel.
 */
const LOAD = [1, 0.5, 1];

/**
 * A run with these req/s (the median of each peer's runs); µs per request:
 * 50, 100, 125, 160, 200. Each round has two runs of each peer.
 */
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
    runs: [0, 0, 1, 1, 2, 2].map((round) => ({
      requestsPerSecond: rps[peer] * LOAD[round]!,
      requests: rps[peer] * LOAD[round]! * 2,
      latencyP50Ms: 1,
      latencyP99Ms: 2,
      non2xx: 0,
      errors: 0,
      cpuUsPerRequest: CPU[peer] ?? NaN,
      round,
      instance: 0,
    })),
  });
  const peers = Object.fromEntries(
    PEERS.map((peer) => [peer, figures(peer)]),
  ) as Record<Peer, PeerFigures>;
  return {
    peers,
    connections: 64,
    seconds: 2,
    rounds: 3,
    instances: 1,
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
    'feature-equivalent / nginx 1 worker: 0.40 < 1 (median of paired ratios; IQR 0.40–0.40 · range 0.40–0.40 · 3 pairs): the nginx 1-worker target is out of reach on this runtime without dropping a feature; a handler doing only what the service promises is already below nginx, from rung "+ 2nd header" on (0.80 × nginx). Per CPU time: feature-equivalent 36 µs per request, nginx 1 worker 12 µs (master and worker), so 0.33 × nginx\'s requests per CPU second.',
  );
  const unmeasured = result();
  unmeasured.peers.nginx1.cpuUsPerRequest = undefined;
  for (const run of unmeasured.peers.nginx1.runs) run.cpuUsPerRequest = NaN;
  assert.match(nginxVerdict(unmeasured), /\(0\.80 × nginx\)\.$/);
  assert.match(
    nginxVerdict(result({ nginx1: 25000 })),
    /below nginx; even the minimal `Deno\.serve` is below it \(0\.80 × nginx\)\./,
  );
});

Deno.test("nginxVerdict() at 1 or more: within reach, the distance is the service's own", () => {
  const verdict = nginxVerdict(result({ nginx1: 5000 }));
  assert.match(
    verdict,
    /^feature-equivalent \/ nginx 1 worker: 1\.00 \(median of paired ratios; IQR 1\.00–1\.00 · range 1\.00–1\.00 · 3 pairs\): /,
  );
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
    /\| async-api req\/s vs nginx 1 worker \| \*\*0\.32\*\* \| IQR 0\.32–0\.32 · range 0\.32–0\.32 · 3 pairs \| ≥ 1 \| ❌ not met \|/,
  );
  // The ladder's peers are rows of the peers' table too.
  assert.match(whole, /\| minimal \+ a constant `ETag` \| 10,000 \|/);
});

Deno.test("connectionLayerShare() splits the service's distance into the connection layer and its own work, in req/s and per CPU second; the targets add the service's requests per CPU second", () => {
  const cached = result();
  const line = connectionLayerShare(cached);
  // guarded 4,500 / equivalent 5,000 req/s; CPU 40 vs 36 µs per request;
  // the same in each round (the second round's load cancels in the pair).
  assert.match(
    line,
    /does 0\.90 × \(IQR 0\.90–0\.90 · range 0\.90–0\.90 · 3 pairs; 0\.90 per CPU second\) its req\/s under `Deno\.serve`/,
  );
  // service 4,000 / guarded 4,500 req/s; CPU 50 vs 40 µs per request.
  assert.match(
    line,
    /async-api does 0\.89 × \(IQR 0\.89–0\.89 · range 0\.89–0\.89 · 3 pairs; 0\.80 per CPU second\) the req\/s of that guarded handler/,
  );
  assert.match(
    cachedSection(cached),
    /Where async-api's distance to the feature-equivalent goes/,
  );
  // And the service's requests per CPU second against the equivalent's,
  // as information next to the req/s target: 36 / 50 µs.
  assert.match(
    cachedSection(cached),
    /\| async-api requests per CPU second vs feature-equivalent \| 0\.72 \| IQR 0\.72–0\.72 · range 0\.72–0\.72 · 3 pairs \| — \| info \|/,
  );
  const unmeasured = result();
  for (const run of unmeasured.peers.guarded.runs) run.cpuUsPerRequest = NaN;
  assert.doesNotMatch(connectionLayerShare(unmeasured), /per CPU second\)/);
});

Deno.test("cachedTargetRows() judges a target on its paired ratios: inconclusive when they straddle it, whatever the medians of the runs say", () => {
  const cached = result();
  // The service against the equivalent, per round: 0.85, 0.95, 0.92 (the
  // second round at half load); the medians of the runs alone give 0.88.
  const ratios = [0.85, 0.85, 0.95, 0.95, 0.92, 0.92];
  cached.peers.service.runs.forEach((run, i) => {
    run.requestsPerSecond = 5000 * LOAD[run.round]! * ratios[i]!;
  });
  cached.peers.service.requestsPerSecond = 4400;
  const rows = cachedTargetRows(cached);
  assert.deepEqual(rows[1], [
    "async-api req/s vs feature-equivalent",
    "**0.92**",
    "IQR 0.89–0.94 · range 0.85–0.95 · 3 pairs",
    "≥ 0.9",
    "❔ inconclusive",
  ]);
  // All three pairs at 0.91 or more: met, though the medians of the runs
  // (4,400 / 5,000 = 0.88) would have said not.
  cached.peers.service.runs.forEach((run, i) => {
    run.requestsPerSecond = 5000 * LOAD[run.round]! * (0.91 + i / 100);
  });
  assert.equal(cachedTargetRows(cached)[1]![4], "✅ met");
  assert.match(
    cachedSummary(cached).find((l) => l.includes("vs feature-equivalent"))!,
    /^cached GET: async-api req\/s vs feature-equivalent: 0\.9\d \[IQR 0\.9\d–0\.9\d · range 0\.92–0\.9\d · 3 pairs\] \(target ≥ 0\.9\) ✅ met$/,
  );
});

Deno.test("nginxVerdict() is inconclusive when the feature-equivalent's pairs with nginx straddle 1", () => {
  const cached = result();
  const ratios = [0.9, 0.9, 1.1, 1.1, 1.0, 1.0];
  cached.peers.equivalent.runs.forEach((run, i) => {
    run.requestsPerSecond = 12500 * LOAD[run.round]! * ratios[i]!;
  });
  assert.match(
    nginxVerdict(cached),
    /^feature-equivalent \/ nginx 1 worker: 1\.00 \(median of paired ratios; IQR 0\.95–1\.05 · range 0\.90–1\.10 · 3 pairs\): inconclusive/,
  );
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
  const encoded = await encodedBodies(spec);
  const two = ladderHandler(spec, "second-header", encoded)(get());
  assert.deepEqual([...two.headers], [
    ["content-type", "application/json; charset=utf-8"],
    ["etag", '"abc"'],
  ]);
  assert.equal(await two.text(), '{"id":1}');

  const all = ladderHandler(spec, "all-headers", encoded);
  const [a, b] = [all(get()), all(get({ "if-none-match": '"abc"' }))];
  assert.deepEqual([...a.headers], spec.headers);
  assert.equal(b.status, 200, "constant: no If-None-Match check");
  assert.equal(await a.text(), '{"id":1}');
  await b.body?.cancel();

  const values = ladderHandler(spec, "values", encoded);
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

Deno.test("ladderHandler() refuses a spec without the headers its rung sends", async () => {
  const bare = { ...spec, headers: [spec.headers[1]!] };
  const encoded = await encodedBodies(spec);
  assert.throws(() => ladderHandler(bare, "second-header", encoded), TypeError);
});
