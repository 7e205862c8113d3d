/**
 * "Where the distance goes" in the cached-GET report (issue 11): the rungs
 * from the minimal `Deno.serve` to the feature-equivalent one, each rung's
 * req/s, its ratio to minimal and what its step costs per request, then
 * whether nginx's 1-worker figure is within reach of a handler that does
 * only what the service promises (judged on the paired ratios of the
 * feature-equivalent to nginx, measured back to back: `bench/paired.ts`).
 *
 * A step's cost is the difference of `1e6 / req/s` between a rung and the
 * one before it: microseconds per request of the one process serving; and
 * the difference of the CPU time the process used per request, which
 * moves less than req/s when other work shares the machine.
 *
 * @module
 */

import { formatValue } from "./charts.ts";
import { type CachedGetResult, comparison, type Peer } from "./cached_get.ts";
import { verdictOf } from "./paired.ts";
import { formatRatio, formatSpread, table } from "./report_format.ts";

/** One rung: the peer and what it adds to the rung before it. */
export interface Rung {
  peer: Peer;
  label: string;
  adds: string;
}

/** The rungs, lightest first; each adds one thing to the one before. */
export function ladderRungs(cached: CachedGetResult): Rung[] {
  const count = cached.headerNames.length;
  return [
    {
      peer: "minimal",
      label: "minimal",
      adds: "the body and one `Content-Type` (the runtime's fast path)",
    },
    {
      peer: "second-header",
      label: "+ 2nd header",
      adds:
        "a constant `ETag`: any header past `Content-Type` leaves the fast path",
    },
    {
      peer: "all-headers",
      label: `+ all ${count} headers`,
      adds: `the service's other headers (${count} in all), constant values`,
    },
    {
      peer: "values",
      label: "+ per-request values",
      adds:
        "request id (`crypto.randomUUID()`), `Age`, `Server-Timing` duration, `If-None-Match` check",
    },
    {
      peer: "equivalent",
      label: "+ log line = feature-equivalent",
      adds: "the JSON log line (the service's logger)",
    },
  ];
}

/** One rung's figures; `stepUs` is undefined for the first rung. */
export interface RungFigures extends Rung {
  requestsPerSecond: number;
  vsMinimal: number;
  usPerRequest: number;
  stepUs: number | undefined;
  /** The step's share of minimal -> feature-equivalent, 0..1. */
  share: number | undefined;
  cpuUsPerRequest: number | undefined;
  cpuStepUs: number | undefined;
}

/** Each rung's req/s, ratio to minimal, µs per request and step cost. */
export function ladderFigures(cached: CachedGetResult): RungFigures[] {
  const rungs = ladderRungs(cached);
  const rps = (peer: Peer) => cached.peers[peer].requestsPerSecond;
  const us = (peer: Peer) => 1e6 / rps(peer);
  const distance = us("equivalent") - us("minimal");
  return rungs.map((rung, i) => {
    const before = rungs[i - 1];
    const stepUs = before ? us(rung.peer) - us(before.peer) : undefined;
    const cpu = cached.peers[rung.peer].cpuUsPerRequest;
    const cpuBefore = before && cached.peers[before.peer].cpuUsPerRequest;
    return {
      ...rung,
      requestsPerSecond: rps(rung.peer),
      vsMinimal: rps(rung.peer) / rps("minimal"),
      usPerRequest: us(rung.peer),
      stepUs,
      share: stepUs === undefined ? undefined : stepUs / distance,
      cpuUsPerRequest: cpu,
      cpuStepUs: cpu === undefined || cpuBefore === undefined
        ? undefined
        : cpu - cpuBefore,
    };
  });
}

/** `+3.2 µs`, `−0.4 µs` (a negative step is noise between rounds). */
export function formatStepUs(us: number | undefined): string {
  if (us === undefined) return "—";
  return `${us < 0 ? "−" : "+"}${formatValue(Math.abs(us))} µs`;
}

const cpu = (us: number | undefined) =>
  us === undefined ? "—" : `${formatValue(us)} µs`;

const percent = (share: number | undefined) =>
  share === undefined || !Number.isFinite(share)
    ? "—"
    : `${share < 0 ? "−" : ""}${Math.abs(Math.round(share * 100))} %`;

/**
 * Per core: the two peers' CPU time per request (medians of their runs)
 * and the median of the paired ratios, when measured.
 */
function perCore(cached: CachedGetResult): string {
  const ratio = comparison(cached, "equivalent", "nginx1").perCpuSecond
    ?.median;
  const mine = cached.peers.equivalent.cpuUsPerRequest;
  const theirs = cached.peers.nginx1.cpuUsPerRequest;
  if (ratio === undefined || mine === undefined || theirs === undefined) {
    return "";
  }
  return ` Per CPU time: feature-equivalent ${
    formatValue(mine)
  } µs per request, nginx 1 worker ${
    formatValue(theirs)
  } µs (master and worker), so ${
    formatRatio(ratio)
  } × nginx's requests per CPU second.`;
}

/**
 * The verdict on the nginx target, from feature-equivalent / nginx 1
 * worker: the median of their paired ratios (measured back to back).
 */
export function nginxVerdict(cached: CachedGetResult): string {
  const nginx = cached.peers.nginx1.requestsPerSecond;
  const { throughput } = comparison(cached, "equivalent", "nginx1");
  const ratio = throughput.median;
  const head = `feature-equivalent / nginx 1 worker: ${formatRatio(ratio)}`;
  const spread = ` (median of paired ratios; ${formatSpread(throughput)})`;
  const verdict = verdictOf(throughput, { min: 1 });
  if (verdict === "inconclusive") {
    return `${head}${spread}: inconclusive, the pairs straddle 1: whether nginx's 1-worker figure is within reach on this runtime needs a quieter machine or more rounds.${
      perCore(cached)
    }`;
  }
  if (verdict === "met") {
    return `${head}${spread}: the nginx target is within reach on this runtime; the service's distance from it is its own overhead.${
      perCore(cached)
    }`;
  }
  const below = ladderFigures(cached).find((r) => r.requestsPerSecond < nginx);
  const of = (r: RungFigures) => formatRatio(r.requestsPerSecond / nginx);
  const from = below === undefined
    ? ""
    : below.peer === "minimal"
    ? `; even the minimal \`Deno.serve\` is below it (${of(below)} × nginx)`
    : `, from rung "${below.label}" on (${of(below)} × nginx)`;
  return `${head} < 1${spread}: the nginx 1-worker target is out of reach on this runtime without dropping a feature; a handler doing only what the service promises is already below nginx${from}.${
    perCore(cached)
  }`;
}

/** The Markdown subsection. */
export function ladderSection(cached: CachedGetResult): string {
  const rows = ladderFigures(cached).map((r) => [
    r.label,
    r.adds,
    formatValue(r.requestsPerSecond),
    formatRatio(r.vsMinimal),
    `${formatValue(r.usPerRequest)} µs`,
    formatStepUs(r.stepUs),
    percent(r.share),
    cpu(r.cpuUsPerRequest),
    formatStepUs(r.cpuStepUs),
  ]);
  return [
    "### Where the distance goes: minimal to feature-equivalent",
    "",
    "Each rung is a peer of the same run and adds one thing to the one above it (`bench/ladder_server.ts`). µs per request is `1e6 / req/s`; a step's cost is the difference from the rung above, and its share is of the whole distance from minimal to feature-equivalent (a negative step is round-to-round noise). CPU/request is the CPU time (user + system, all threads) the server process used per request served, median of the rounds: the per-core cost, steadier than req/s when other work shares the machine.",
    "",
    table(
      [
        "rung",
        "adds",
        "req/s",
        "vs minimal",
        "µs/request",
        "step",
        "share of distance",
        "CPU/request",
        "CPU step",
      ],
      rows,
    ),
    "",
    `**${nginxVerdict(cached)}**`,
  ].join("\n");
}

/** The console lines: one per rung, then the verdict. */
export function ladderSummary(cached: CachedGetResult): string[] {
  return [
    ...ladderFigures(cached).map((r) =>
      `cached GET ladder: ${r.label.padEnd(32)} ${
        formatValue(r.requestsPerSecond).padStart(8)
      } req/s  ${formatRatio(r.vsMinimal)} x minimal  ${
        formatValue(r.usPerRequest).padStart(6)
      } µs/req  step ${formatStepUs(r.stepUs).padStart(10)} ${
        percent(r.share).padStart(5)
      }  cpu ${cpu(r.cpuUsPerRequest).padStart(8)} step ${
        formatStepUs(r.cpuStepUs).padStart(9)
      }`
    ),
    `cached GET: ${nginxVerdict(cached)}`,
  ];
}
