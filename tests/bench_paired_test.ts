/**
 * Tests of how the cached-GET benchmark judges its targets on a shared
 * machine: the paired ratios (`bench/paired.ts`: one ratio per round from
 * runs measured back to back, their median and spread, met / not met /
 * inconclusive) and the order of the rounds (`bench/cached_rounds.ts`:
 * compared peers mirrored and adjacent, processes taken in turn). Nothing
 * here measures speed: the figures are made up.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  instanceOf,
  MAX_REPEATS,
  MULTI_PEERS,
  PAIRED_BLOCKS,
  roundOrder,
  SINGLE_PEERS,
  stalled,
} from "../bench/cached_rounds.ts";
import { benchCachedGet, PEERS } from "../bench/cached_get.ts";
import {
  pairedRatios,
  type PairedRun,
  quantile,
  spreadOf,
  verdictOf,
} from "../bench/paired.ts";
import { formatSpread, verdictMark } from "../bench/report_format.ts";

Deno.test("quantile() interpolates between ranks; spreadOf() gives median, quartiles, extremes and count", () => {
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.throws(() => quantile([1], 1.5), RangeError);
  assert.deepEqual(spreadOf([0.9, 0.7, NaN, 1.1, 0.8, 1.0]), {
    median: 0.9,
    q1: 0.8,
    q3: 1,
    min: 0.7,
    max: 1.1,
    count: 5,
  });
  assert.equal(spreadOf([]), undefined);
  assert.equal(spreadOf([NaN]), undefined);
});

Deno.test("verdictOf(): met and not met when the pairs agree, inconclusive when the IQR straddles the target", () => {
  const spread = (values: number[]) => spreadOf(values)!;
  // Median 0.94, lower quartile 0.92: met.
  assert.equal(
    verdictOf(spread([0.91, 0.93, 0.94, 0.95, 0.97]), { min: 0.9 }),
    "met",
  );
  // Upper quartile 0.86: not met.
  assert.equal(
    verdictOf(spread([0.8, 0.84, 0.85, 0.86, 0.95]), { min: 0.9 }),
    "not met",
  );
  // Lower quartile 0.85, upper 0.95: the run cannot tell, whatever the
  // median says.
  assert.equal(
    verdictOf(spread([0.8, 0.85, 0.91, 0.95, 1]), { min: 0.9 }),
    "inconclusive",
  );
  assert.equal(
    verdictOf(spread([0.8, 0.85, 0.89, 0.95, 1]), { min: 0.9 }),
    "inconclusive",
  );
  // One pair: its ratio decides.
  assert.equal(verdictOf(spread([0.9]), { min: 0.9 }), "met");
  // Lower is better (p99 ratios): at most 1.
  assert.equal(verdictOf(spread([0.8, 0.9, 0.95]), { max: 1 }), "met");
  assert.equal(verdictOf(spread([1.1, 1.2, 1.3]), { max: 1 }), "not met");
  assert.equal(
    verdictOf(spread([0.8, 0.9, 1.2, 1.3]), { max: 1 }),
    "inconclusive",
  );
  assert.equal(verdictMark("inconclusive"), "❔ inconclusive");
  assert.equal(verdictMark("met"), "✅ met");
  assert.equal(verdictMark("not met"), "❌ not met");
});

Deno.test("formatSpread() gives the IQR, the range and the count of pairs", () => {
  assert.equal(
    formatSpread(spreadOf([0.8, 0.85, 0.91, 0.95, 1])),
    "IQR 0.85–0.95 · range 0.80–1.00 · 5 pairs",
  );
  assert.equal(formatSpread(spreadOf([0.9])), "1 pair");
  assert.equal(formatSpread(undefined), "—");
});

/** A run of round `round` at `rps` req/s for 2 s, with `cpu` µs/request. */
const run = (
  round: number,
  rps: number,
  cpu: number,
  p99 = 2,
): PairedRun => ({
  round,
  requestsPerSecond: rps,
  requests: rps * 2,
  cpuUsPerRequest: cpu,
  latencyP99Ms: p99,
});

Deno.test("pairedRatios() divides each round's averaged runs, weights CPU by requests, and skips rounds one side missed", () => {
  const subject = [
    run(0, 900, 50, 3),
    run(0, 700, 60, 5),
    run(1, 1000, 40),
    run(1, 1000, 40),
    run(2, 500, 80),
    run(2, 500, 80),
  ];
  const baseline = [
    run(0, 1000, 40, 2),
    run(0, 1000, 40, 2),
    run(1, 1000, 50),
    run(1, 1000, 50),
  ];
  const ratios = pairedRatios(subject, baseline);
  // Round 0: (900 + 700) / 2 over 1000; round 2 has no baseline.
  assert.deepEqual(ratios.throughput, [0.8, 1]);
  // Round 0: CPU (50 × 1800 + 60 × 1400) / 3200 µs per request.
  const cpu0 = (50 * 1800 + 60 * 1400) / 3200;
  assert.deepEqual(ratios.perCpuSecond, [40 / cpu0, 50 / 40]);
  assert.deepEqual(ratios.p99, [2, 1]);
});

Deno.test("roundOrder() measures each paired block forward then backward, the main pair adjacent in the middle, every peer each round", () => {
  const even = roundOrder(0);
  const odd = roundOrder(1);
  for (const order of [even, odd]) {
    // Each paired peer twice, each single peer once: every peer a round.
    assert.deepEqual([...new Set(order)].sort(), [...PEERS].sort());
    assert.equal(
      order.length,
      PAIRED_BLOCKS.flat().length * 2 + SINGLE_PEERS.length,
    );
    // Mirrored: both runs of any two paired peers have the same mean
    // position, so a linear drift of the load cancels in their ratio.
    for (const block of PAIRED_BLOCKS) {
      const mean = (peer: string) => {
        const at = order.flatMap((p, i) => (p === peer ? [i] : []));
        assert.equal(at.length, 2, peer);
        return (at[0]! + at[1]!) / 2;
      };
      const centre = mean(block[0]!);
      for (const peer of block) assert.equal(mean(peer), centre, peer);
    }
  }
  assert.deepEqual(even.slice(0, 8), [
    "nginx1",
    "guarded",
    "service",
    "equivalent",
    "equivalent",
    "service",
    "guarded",
    "nginx1",
  ]);
  // Odd rounds: the feature-equivalent goes first in the middle pair.
  assert.deepEqual(odd.slice(2, 6), [
    "equivalent",
    "service",
    "service",
    "equivalent",
  ]);
  assert.deepEqual(even.slice(-4), [
    "nginx2",
    "parallel",
    "parallel",
    "nginx2",
  ]);
  assert.deepEqual(odd.slice(-4), ["parallel", "nginx2", "nginx2", "parallel"]);
  // The singles rotate.
  assert.notDeepEqual(even.slice(8, 12), odd.slice(8, 12));
});

Deno.test("instanceOf() takes every process in turn and, over count × count rounds, every combination of the service's and the equivalent's", () => {
  assert.deepEqual(MULTI_PEERS, ["service", "equivalent", "guarded"]);
  const count = 3;
  const combos = new Set<string>();
  for (let round = 0; round < count * count; round++) {
    combos.add(
      `${instanceOf("service", round, count)}-${
        instanceOf("equivalent", round, count)
      }`,
    );
  }
  assert.equal(combos.size, count * count);
  // The 9 rounds of the full run: each process of each peer three times,
  // and each pairing of a service process with an equivalent one once.
  for (const peer of MULTI_PEERS) {
    const used = Array.from({ length: 9 }, (_, r) => instanceOf(peer, r, 3));
    assert.deepEqual(used.toSorted(), [0, 0, 0, 1, 1, 1, 2, 2, 2], peer);
  }
  // A single process, or a peer run as one: always the first.
  assert.equal(instanceOf("service", 5, 1), 0);
  assert.equal(instanceOf("nginx1", 4, 1), 0);
});

Deno.test("benchCachedGet() refuses rounds, processes or seconds that are not positive integers, before starting anything", async () => {
  for (
    const bad of [{ rounds: 0 }, { instances: 1.5 }, { seconds: -1 }, {
      connections: NaN,
    }]
  ) {
    await assert.rejects(() => benchCachedGet(bad), RangeError);
  }
});

Deno.test("stalled(): a run that lost more than 1 % to timeouts with no wrong answer is measured again; a wrong answer is not", () => {
  const run = (non2xx: number, errors: number) => ({
    requestsPerSecond: 1000,
    requests: 2000,
    latencyP50Ms: 1,
    latencyP99Ms: 2,
    non2xx,
    errors,
  });
  assert.equal(stalled(run(0, 20)), false);
  assert.equal(stalled(run(0, 64)), true);
  assert.equal(stalled(run(1, 64)), false);
  assert.ok(MAX_REPEATS >= 1);
});
