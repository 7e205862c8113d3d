/**
 * The cached-GET part of the benchmark report: the peers' table (issue 11's
 * table with this run's figures), the targets marked met or not, where the
 * distance from minimal to feature-equivalent goes (`ladder_report.ts`), the
 * chart group and the summary lines.
 *
 * @module
 */

import type { BarGroup } from "./charts.ts";
import { formatValue } from "./charts.ts";
import {
  type CachedGetResult,
  type Peer,
  PEER_LABELS,
  PEERS,
  perCpuSecond,
} from "./cached_get.ts";
import { ladderSection, ladderSummary } from "./ladder_report.ts";
import { formatRatio, met, plural, table } from "./report_format.ts";

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

/** One row per target: what, measured ratio, target, met. */
export function cachedTargetRows(cached: CachedGetResult): string[][] {
  const rows = CACHED_TARGETS.map(({ subject, baseline, min }) => {
    const ratio = cached.peers[subject].requestsPerSecond /
      cached.peers[baseline].requestsPerSecond;
    return [
      `${SHORT[subject]} req/s vs ${SHORT[baseline]}`,
      `**${formatRatio(ratio)}**`,
      `≥ ${min}`,
      met(ratio >= min),
    ];
  });
  rows.push(perCpuSecondRow(cached, "service", "equivalent"));
  for (const { subject, baseline } of LATENCY_TARGETS) {
    const mine = cached.peers[subject].latencyP99Ms;
    const theirs = cached.peers[baseline].latencyP99Ms;
    const known = mine !== undefined && theirs !== undefined;
    rows.push([
      `${SHORT[subject]} p99 vs ${SHORT[baseline]} (lower is better)`,
      known ? `**${formatValue(mine)} ms** vs ${formatValue(theirs)} ms` : "—",
      "no worse",
      met(known && mine <= theirs),
    ]);
  }
  return rows;
}

/**
 * `subject`'s requests per CPU second against `baseline`'s, for
 * information: on a machine whose cores other work shares, CPU time per
 * request moves less between rounds than req/s.
 */
function perCpuSecondRow(
  cached: CachedGetResult,
  subject: Peer,
  baseline: Peer,
): string[] {
  const ratio = perCpuSecond(cached, subject, baseline);
  return [
    `${SHORT[subject]} requests per CPU second vs ${SHORT[baseline]}`,
    ratio === undefined ? "—" : formatRatio(ratio),
    "—",
    "info",
  ];
}

const ms = (v: number | undefined) =>
  v === undefined ? "—" : `${formatValue(v)} ms`;
const us = (v: number | undefined) =>
  v === undefined ? "—" : `${formatValue(v)} µs`;

/** Which peers lost requests to wrk's socket errors (timeouts). */
function socketErrors(cached: CachedGetResult): string {
  const lost = PEERS.map((peer) => {
    const runs = cached.peers[peer].runs;
    const errors = runs.reduce((sum, r) => sum + r.errors, 0);
    const requests = runs.reduce((sum, r) => sum + r.requests, 0);
    return errors > 0 ? `${SHORT[peer]} ${errors} of ${requests}` : "";
  }).filter(Boolean);
  return lost.length === 0
    ? "No socket errors in any round."
    : `Socket errors (wrk timeouts, at most 1 % of a round is tolerated): ${
      lost.join(", ")
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
    `\`GET /posts/1\` from a warm cache, upstream the real JSONPlaceholder (npm \`jsonplaceholder\` under Node) on loopback. All peers run at once and are measured interleaved: \`wrk -t1 -c${cached.connections}\`, ${
      plural(cached.rounds, "round")
    } of ${cached.seconds} s over all peers in rotating order, after a 1 s warm-up of each; each figure is the **median** of its rounds; CPU/request is the CPU time (user + system, every thread, and nginx's worker processes with their master) each server used per request served. The service runs with the flags of \`deno task start\` (its permissions and V8 flags); \`--parallel\` is \`serve.ts\` under \`deno serve --parallel\` with \`DENO_JOBS=2\`; both with \`CACHE_TTL_SECONDS=3600\` so no entry expires during the run. nginx (${cached.nginx}, Debian nginx-light) is configured by the bench: \`proxy_cache_path\` in a temp folder, \`keys_zone=jp:10m\`, \`proxy_cache_valid 200 404 60s\`, \`proxy_ignore_headers Cache-Control Expires Set-Cookie Vary\`, \`proxy_cache_lock on\`, keep-alive to the upstream, and an access log in \`combined\` format (buffered 64 KiB, as the service batches its log lines).`,
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
      ["target (issue 11)", "measured", "target", "result"],
      cachedTargetRows(cached),
    ),
    "",
    connectionLayerShare(cached),
    "",
    socketErrors(cached),
    "",
    `The feature-equivalent peer is derived in the same run from the service itself: the bench fetches \`/posts/1\` twice from the service (as wrk does, without \`Accept-Encoding\`), copies the second (cached) answer's status, body and headers (${
      cached.headerNames.map((n) => `\`${n}\``).join(", ")
    }; \`date\` and \`content-length\` are added by \`Deno.serve\`) and that request's JSON log line (fields ${
      cached.logFields.map((n) => `\`${n}\``).join(", ")
    }). Per request it makes a new request id (\`crypto.randomUUID()\`), \`Age\`, the \`Server-Timing\` duration, the log line's time and duration, answers \`If-None-Match\` with 304, and batches log lines per event-loop turn as the service's logger does; nothing else.`,
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
  const rps = (peer: Peer) => cached.peers[peer].requestsPerSecond;
  const perCpu = (subject: Peer, baseline: Peer) => {
    const ratio = perCpuSecond(cached, subject, baseline);
    return ratio === undefined ? "" : ` (${formatRatio(ratio)} per CPU second)`;
  };
  return `**Where async-api's distance to the feature-equivalent goes.** The feature-equivalent handler served through the service's connection layer (\`serveGuarded\`: its own accept loop, connection cap, header and keep-alive timeouts, the protections \`Deno.serve\` lacks) does ${
    formatRatio(rps("guarded") / rps("equivalent"))
  } × its req/s under \`Deno.serve\`${
    perCpu("guarded", "equivalent")
  }: that is the layer's cost. async-api does ${
    formatRatio(rps("service") / rps("guarded"))
  } × the req/s of that guarded handler${
    perCpu("service", "guarded")
  }: that is the cost of its own per-request work (routing, cache lookup, metrics, compression negotiation, request scope).`;
}

/** The chart group: every peer's req/s, the nginx 1-worker line as target. */
export function cachedChartGroup(cached: CachedGetResult): BarGroup {
  const { peers } = cached;
  const nginx = peers.nginx1.requestsPerSecond;
  return {
    title:
      `Cached GET /posts/1 — requests/s (wrk -t1 -c${cached.connections}, median of ${cached.rounds} × ${cached.seconds} s)`,
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
    ...cachedTargetRows(cached).map(([what, value, target, result]) =>
      `cached GET: ${what}: ${
        value!.replaceAll("*", "")
      } (target ${target}) ${result}`
    ),
    ...ladderSummary(cached),
  ];
}
