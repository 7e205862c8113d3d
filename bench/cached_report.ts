/**
 * The cached-GET part of the benchmark report: the peers' table (issue 11's
 * table with this run's figures), the targets judged on the median of
 * their paired ratios with the spread over the pairs (met, not met, or
 * inconclusive when the spread straddles the target: `bench/paired.ts`),
 * where the distance from minimal to feature-equivalent goes
 * (`ladder_report.ts`), the chart group and the summary lines.
 *
 * @module
 */

import type { BarGroup } from "./charts.ts";
import { formatValue } from "./charts.ts";
import {
  type CachedGetResult,
  comparison,
  type Peer,
  PEER_LABELS,
  type PeerRun,
  PEERS,
} from "./cached_get.ts";
import { MULTI_PEERS } from "./cached_rounds.ts";
import { ladderSection, ladderSummary } from "./ladder_report.ts";
import { median } from "./lib.ts";
import { type Spread, verdictOf } from "./paired.ts";
import {
  formatRatio,
  formatSpread,
  plural,
  table,
  verdictMark,
} from "./report_format.ts";

/** A throughput target: `subject` req/s at least `min` × `baseline`'s. */
export interface CachedTarget {
  subject: Peer;
  baseline: Peer;
  min: number;
}

/** Issue 11's throughput targets. */
export const CACHED_TARGETS: readonly CachedTarget[] = [
  { subject: "service", baseline: "nginx1", min: 1 },
  { subject: "service", baseline: "equivalent", min: 0.9 },
  { subject: "parallel", baseline: "nginx2", min: 1 },
];

/** Issue 11's latency targets: `subject`'s p99 no worse than `baseline`'s. */
export const LATENCY_TARGETS: readonly { subject: Peer; baseline: Peer }[] = [
  { subject: "service", baseline: "nginx1" },
  { subject: "parallel", baseline: "nginx2" },
];

const SHORT: Record<Peer, string> = {
  service: "async-api",
  parallel: "async-api --parallel",
  guarded: "equivalent, guarded",
  equivalent: "feature-equivalent",
  values: "equivalent − log",
  "all-headers": "all headers, constant",
  "second-header": "minimal + ETag",
  nginx1: "nginx 1 worker",
  nginx2: "nginx 2 workers",
  minimal: "minimal",
};

const ms = (v: number | undefined) =>
  v === undefined ? "—" : `${formatValue(v)} ms`;
const us = (v: number | undefined) =>
  v === undefined ? "—" : `${formatValue(v)} µs`;

/**
 * One row per target: what, the median of its paired ratios, their
 * spread, the target, the verdict; then the service's requests per CPU
 * second against the equivalent's (information) and the p99 targets.
 */
export function cachedTargetRows(cached: CachedGetResult): string[][] {
  const row = (
    what: string,
    spread: Spread | undefined,
    target: string,
    result: string,
  ) => [
    what,
    spread === undefined
      ? "—"
      : result === "info"
      ? formatRatio(spread.median)
      : `**${formatRatio(spread.median)}**`,
    formatSpread(spread),
    target,
    result,
  ];
  const rows = CACHED_TARGETS.map(({ subject, baseline, min }) => {
    const { throughput } = comparison(cached, subject, baseline);
    return row(
      `${SHORT[subject]} req/s vs ${SHORT[baseline]}`,
      throughput,
      `≥ ${min}`,
      verdictMark(verdictOf(throughput, { min })),
    );
  });
  rows.push(row(
    `${SHORT.service} requests per CPU second vs ${SHORT.equivalent}`,
    comparison(cached, "service", "equivalent").perCpuSecond,
    "—",
    "info",
  ));
  for (const { subject, baseline } of LATENCY_TARGETS) {
    const { p99 } = comparison(cached, subject, baseline);
    rows.push(row(
      `${SHORT[subject]} p99 / ${SHORT[baseline]} p99 (lower is better; ${
        ms(cached.peers[subject].latencyP99Ms)
      } vs ${ms(cached.peers[baseline].latencyP99Ms)})`,
      p99,
      "≤ 1",
      p99 === undefined ? "—" : verdictMark(verdictOf(p99, { max: 1 })),
    ));
  }
  return rows;
}

/**
 * Which peers lost requests to wrk's socket errors (timeouts), and which
 * runs were measured again because the machine stalled through them.
 */
function socketErrors(cached: CachedGetResult): string {
  const count = (peer: Peer, pick: (run: PeerRun) => number) =>
    cached.peers[peer].runs.reduce((sum, r) => sum + pick(r), 0);
  const lost = PEERS.map((peer) => {
    const errors = count(peer, (r) => r.errors);
    const requests = count(peer, (r) => r.requests);
    return errors > 0 ? `${SHORT[peer]} ${errors} of ${requests}` : "";
  }).filter(Boolean);
  const repeated = PEERS.map((peer) => {
    const repeats = count(peer, (r) => r.repeats ?? 0);
    return repeats > 0 ? `${SHORT[peer]} ${repeats}` : "";
  }).filter(Boolean);
  const errors = lost.length === 0
    ? "No socket errors in any kept run."
    : `Socket errors (wrk timeouts, at most 1 % of a run is kept): ${
      lost.join(", ")
    }.`;
  return repeated.length === 0
    ? errors
    : `${errors} Runs measured again because the machine stalled through them (timeouts past 1 % of the run): ${
      repeated.join(", ")
    }.`;
}

/** How the rounds run and how a target is judged, for the section. */
function methodText(cached: CachedGetResult): string {
  const processes = cached.instances > 1
    ? ` async-api, the feature-equivalent and the guarded one each run as ${cached.instances} processes, and each round takes another combination of them, so no one process's luck (JIT, heap layout) decides.`
    : "";
  return `${
    plural(cached.rounds, "round")
  }; in each, the peers a target compares are measured back to back in mirrored order, so a slow change of the machine's load hits both sides alike: nginx 1 worker, the guarded equivalent, async-api, the feature-equivalent, then the same backwards (async-api and the feature-equivalent swap who goes first every round); then the ladder's rungs and minimal once each, in rotating order; then nginx 2 workers, \`--parallel\` and back.${processes} Each target is judged on its **paired ratios**: per round, each side's two runs are averaged and divided, one ratio per round; the targets table gives their median, interquartile range (IQR) and range. A target is met when the median meets it and the IQR lies on its side; **inconclusive** when the IQR straddles it (the run cannot tell). The peers' table gives the **median** of each peer's runs (all its processes), for orientation; its ratios are not paired.`;
}

/**
 * Each process's median req/s of the peers run as several processes:
 * what one process's luck would have moved.
 */
export function processSpread(cached: CachedGetResult): string {
  if (cached.instances < 2) return "";
  const parts = MULTI_PEERS.map((peer) => {
    const runs = cached.peers[peer].runs;
    const each = [...new Set(runs.map((r) => r.instance))].sort((a, b) => a - b)
      .map((i) =>
        formatValue(
          median(
            runs.filter((r) => r.instance === i).map((r) =>
              r.requestsPerSecond
            ),
          ),
        )
      );
    return `${SHORT[peer]} ${each.join(", ")}`;
  });
  return `Process to process (median req/s of each process's runs): ${
    parts.join("; ")
  }.`;
}

/** The Markdown section. */
export function cachedSection(cached: CachedGetResult): string {
  const { peers } = cached;
  const rows = PEERS.map((peer) => [
    PEER_LABELS[peer],
    formatValue(peers[peer].requestsPerSecond),
    ms(peers[peer].latencyP50Ms),
    ms(peers[peer].latencyP99Ms),
    formatRatio(
      peers[peer].requestsPerSecond / peers.minimal.requestsPerSecond,
    ),
    formatRatio(peers[peer].requestsPerSecond / peers.nginx1.requestsPerSecond),
    us(peers[peer].cpuUsPerRequest),
  ]);
  return [
    `## Cached GET: async-api and its peers`,
    "",
    `\`GET /posts/1\` from a warm cache, upstream the real JSONPlaceholder (npm \`jsonplaceholder\` under Node) on loopback. All peers run at once; \`wrk -t1 -c${cached.connections}\` runs of ${cached.seconds} s, after a 1 s warm-up of each process. ${
      methodText(cached)
    } CPU/request is the CPU time (user + system, every thread, and nginx's worker processes with their master) each server used per request served. The service runs with the flags of \`deno task start\` (its permissions and V8 flags); \`--parallel\` is \`serve.ts\` under \`deno serve --parallel\` with \`DENO_JOBS=2\`; both with \`CACHE_TTL_SECONDS=3600\` so no entry expires during the run. nginx (${cached.nginx}, Debian nginx-light) is configured by the bench: \`proxy_cache_path\` in a temp folder, \`keys_zone=jp:10m\`, \`proxy_cache_valid 200 404 60s\`, \`proxy_ignore_headers Cache-Control Expires Set-Cookie Vary\`, \`proxy_cache_lock on\`, keep-alive to the upstream, and an access log in \`combined\` format (buffered 64 KiB, as the service batches its log lines).`,
    "",
    table(
      [
        "server",
        "req/s",
        "p50",
        "p99",
        "vs minimal",
        "vs nginx 1 worker",
        "CPU/request",
      ],
      rows,
    ),
    "",
    table(
      [
        "target (issue 11)",
        "median of pairs",
        "spread over pairs",
        "target",
        "result",
      ],
      cachedTargetRows(cached),
    ),
    "",
    connectionLayerShare(cached),
    "",
    processSpread(cached),
    "",
    socketErrors(cached),
    "",
    `The feature-equivalent peer is derived in the same run from the service itself: the bench asks the service for \`/posts/1\` twice as wrk does (the request line and \`Host\`, nothing else), copies the second (cached) answer's status, body and header fields in the order sent (${
      cached.headerNames.map((n) => `\`${n}\``).join(", ")
    }; \`date\` and \`content-length\` are added by \`Deno.serve\`) and that request's JSON log line (fields ${
      cached.logFields.map((n) => `\`${n}\``).join(", ")
    }). Per request it makes a new request id (\`crypto.randomUUID()\`), \`Age\` and the TTL left in \`Cache-Status\`, the \`Server-Timing\` duration, the log line's time and duration, answers \`If-None-Match\` with 304, and batches log lines per event-loop turn as the service's logger does; nothing else.`,
    "",
    ladderSection(cached),
  ].join("\n");
}

/**
 * How the distance from the service to the feature-equivalent splits: the
 * service's connection layer (the same handler served through it) and the
 * service's own per-request work (the service against that).
 */
export function connectionLayerShare(cached: CachedGetResult): string {
  const paired = (subject: Peer, baseline: Peer) => {
    const { throughput, perCpuSecond } = comparison(cached, subject, baseline);
    const spread = formatSpread(throughput);
    const cpu = perCpuSecond === undefined
      ? ""
      : `; ${formatRatio(perCpuSecond.median)} per CPU second`;
    return `${formatRatio(throughput.median)} × (${spread}${cpu})`;
  };
  return `**Where async-api's distance to the feature-equivalent goes** (medians of paired ratios). The feature-equivalent handler served through the service's connection layer (\`serveGuarded\`: its own accept loop, connection cap, header and keep-alive timeouts, the protections \`Deno.serve\` lacks) does ${
    paired("guarded", "equivalent")
  } its req/s under \`Deno.serve\`: that is the layer's cost. async-api does ${
    paired("service", "guarded")
  } the req/s of that guarded handler: that is the cost of its own per-request work (routing, cache lookup, metrics, compression negotiation, request scope).`;
}

/** The chart group: every peer's req/s, the nginx 1-worker line as target. */
export function cachedChartGroup(cached: CachedGetResult): BarGroup {
  const { peers } = cached;
  const nginx = peers.nginx1.requestsPerSecond;
  return {
    title:
      `Cached GET /posts/1 — requests/s (wrk -t1 -c${cached.connections}, medians of ${cached.rounds} rounds of ${cached.seconds} s runs)`,
    unit: "req/s",
    bars: PEERS.map((peer) => ({
      label: SHORT[peer],
      value: peers[peer].requestsPerSecond,
      ...(peer === "service" || peer === "parallel"
        ? {
          note: `${
            formatRatio(peers[peer].requestsPerSecond / nginx)
          } × nginx 1w`,
        }
        : { baseline: true }),
    })),
    target: { value: nginx, label: "target ≥ 1.0 × nginx 1 worker" },
  };
}

/** One summary line per peer (issue 11's table), then one per target. */
export function cachedSummary(cached: CachedGetResult): string[] {
  const { peers } = cached;
  const table = PEERS.map((peer) =>
    `cached GET ${SHORT[peer].padEnd(20)} ${
      formatValue(peers[peer].requestsPerSecond).padStart(8)
    } req/s  p99 ${ms(peers[peer].latencyP99Ms).padStart(9)}  ${
      formatRatio(
        peers[peer].requestsPerSecond / peers.minimal.requestsPerSecond,
      )
    } x minimal`
  );
  return [
    ...table,
    ...cachedTargetRows(cached).map(([what, value, spread, target, result]) =>
      `cached GET: ${what}: ${
        value!.replaceAll("*", "")
      } [${spread}] (target ${target}) ${result}`
    ),
    ...ladderSummary(cached),
  ];
}
