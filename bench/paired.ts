/**
 * Paired ratios and their spread, for the benchmark's verdicts on a shared
 * machine. Two servers compared by a target are measured back to back in
 * mirrored order (A B B A) within each round, so a slow change of the
 * machine's load hits both sides alike; each round then gives one ratio
 * (a pair), and a target is judged on the median of those ratios with
 * their spread, never on one figure.
 *
 * A verdict has three outcomes: `met` and `not met` when the pairs agree,
 * `inconclusive` when the interquartile range straddles the target (the
 * lower quartile on one side, the upper on the other): the run cannot
 * tell, and a yes or no would be the noise's.
 *
 * @module
 */

/** One run of a paired server: the round it belongs to and its figures. */
export interface PairedRun {
  /** The round (pairs are formed within a round). */
  round: number;
  requestsPerSecond: number;
  /** Requests completed in the run. */
  requests: number;
  /** CPU time per request served, in µs. */
  cpuUsPerRequest: number;
  latencyP99Ms?: number | undefined;
}

/** The ratios of one comparison, one per round in which both sides ran. */
export interface PairedRatios {
  /** Subject req/s over the baseline's, per round. */
  throughput: number[];
  /**
   * Subject requests per CPU second over the baseline's (the baseline's
   * CPU time per request over the subject's), per round.
   */
  perCpuSecond: number[];
  /** Subject p99 latency over the baseline's (lower is better), per round. */
  p99: number[];
}

/** How a set of values spreads: median, quartiles, extremes and count. */
export interface Spread {
  median: number;
  /** Lower quartile. */
  q1: number;
  /** Upper quartile. */
  q3: number;
  min: number;
  max: number;
  count: number;
}

/** What a target's pairs say. */
export type Verdict = "met" | "not met" | "inconclusive";

/** A target on a ratio: at least `min`, or (lower is better) at most `max`. */
export type Bound = { min: number } | { max: number };

/**
 * The `q` quantile (0..1) of `values`, interpolated linearly between the
 * closest ranks (the common "type 7" definition: the median of an even
 * count is the mean of the middle two). NaN for no values.
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} not in 0..1`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/** The spread of `values`, or `undefined` for none. */
export function spreadOf(values: readonly number[]): Spread | undefined {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return undefined;
  return {
    median: quantile(finite, 0.5),
    q1: quantile(finite, 0.25),
    q3: quantile(finite, 0.75),
    min: Math.min(...finite),
    max: Math.max(...finite),
    count: finite.length,
  };
}

/**
 * `met` when the median meets `bound` and the lower quartile does too (for
 * `max`: the upper quartile); `inconclusive` when the interquartile range
 * straddles the bound; `not met` otherwise.
 */
export function verdictOf(spread: Spread, bound: Bound): Verdict {
  if ("min" in bound) {
    if (spread.q1 < bound.min && spread.q3 >= bound.min) return "inconclusive";
    return spread.median >= bound.min ? "met" : "not met";
  }
  if (spread.q1 <= bound.max && spread.q3 > bound.max) return "inconclusive";
  return spread.median <= bound.max ? "met" : "not met";
}

/** The sum of `pick` over `runs`. */
function sum<T>(runs: readonly T[], pick: (run: T) => number): number {
  return runs.reduce((total, run) => total + pick(run), 0);
}

/** One side's figures over its runs of a round: mean req/s, CPU, p99. */
function sideOf(runs: readonly PairedRun[]) {
  const requests = sum(runs, (r) => r.requests);
  const p99s = runs.map((r) => r.latencyP99Ms).filter((v) => v !== undefined);
  return {
    requestsPerSecond: sum(runs, (r) => r.requestsPerSecond) / runs.length,
    // Weighted by requests: the CPU time of the runs over their requests.
    cpuUsPerRequest: sum(runs, (r) => r.cpuUsPerRequest * r.requests) /
      requests,
    p99: p99s.length === runs.length ? sum(p99s, (v) => v) / p99s.length : NaN,
  };
}

/**
 * The per-round ratios of `subject` to `baseline`: in each round where
 * both ran, each side's runs of that round (two each in A B B A order)
 * are averaged, then divided. Rounds where one side did not run are left
 * out.
 */
export function pairedRatios(
  subject: readonly PairedRun[],
  baseline: readonly PairedRun[],
): PairedRatios {
  const rounds = [...new Set(subject.map((r) => r.round))].sort((a, b) =>
    a - b
  );
  const out: PairedRatios = { throughput: [], perCpuSecond: [], p99: [] };
  for (const round of rounds) {
    const mine = subject.filter((r) => r.round === round);
    const theirs = baseline.filter((r) => r.round === round);
    if (theirs.length === 0) continue;
    const a = sideOf(mine);
    const b = sideOf(theirs);
    out.throughput.push(a.requestsPerSecond / b.requestsPerSecond);
    out.perCpuSecond.push(b.cpuUsPerRequest / a.cpuUsPerRequest);
    out.p99.push(a.p99 / b.p99);
  }
  return out;
}
