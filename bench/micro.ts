/**
 * The micro-benchmarks of the report: `deno bench --json` on the bounded
 * queue and the response cache, each bench as a ratio to its group's
 * baseline, with their targets.
 *
 * @module
 */

import { formatNs, formatRatio, met, table } from "./report_format.ts";
const ROOT = new URL("..", import.meta.url).pathname;

export const MICRO_FILES = ["bench/queue_bench.ts", "bench/cache_bench.ts"];

/**
 * Targets of micro-benchmarks, as the most `avg / group baseline avg` may be,
 * keyed by group and bench name; benches not listed are for information.
 */
export const MICRO_TARGETS: ReadonlyArray<
  { group: string; name: string; maxRatio: number; why: string }
> = [
  {
    group: "queue handoff (64 KiB chunk)",
    name: "BoundedQueue put + get",
    maxRatio: 1,
    why: "no dearer per chunk than a stream hop",
  },
  {
    group: "queue backpressure (8 MiB through 1 MiB)",
    name: "BoundedQueue, capacityBytes 1 MiB",
    maxRatio: 1,
    why: "waiting no dearer than a bounded TransformStream",
  },
  {
    group: "cache hit vs response",
    name: "ResponseCache get (hit)",
    maxRatio: 0.5,
    why: "under half the least work of any response",
  },
];

/** One `deno bench` result with its ratio to the group's baseline. */
export interface MicroResult {
  group: string;
  name: string;
  baseline: boolean;
  /** Mean time per iteration, ns. */
  avgNs: number;
  /** 75th percentile, ns (less swayed by the noise of a shared machine). */
  p75Ns: number;
  /** Iterations (or batches of iterations) measured. */
  n: number;
  /** avg / the group baseline's avg. */
  ratio: number | undefined;
  /** p75 / the group baseline's p75. */
  ratioP75: number | undefined;
}

export interface DenoBenchJson {
  cpu?: string;
  benches: Array<{
    origin: string;
    group: string | null;
    name: string;
    baseline: boolean;
    results: Array<
      {
        ok?: { n: number; avg: number; p75: number };
        failed?: unknown;
      }
    >;
  }>;
}

/**
 * Turns the output of `deno bench --json` into one row per bench, with its
 * ratio to the baseline of its group (`undefined` when the group has none).
 *
 * @throws {Error} when a bench failed.
 */
export function parseDenoBench(json: DenoBenchJson): MicroResult[] {
  const rows: MicroResult[] = json.benches.map((bench) => {
    const result = bench.results[0];
    if (!result?.ok) {
      throw new Error(
        `bench "${bench.name}" failed: ${JSON.stringify(result?.failed)}`,
      );
    }
    return {
      group: bench.group ?? "",
      name: bench.name,
      baseline: bench.baseline,
      avgNs: result.ok.avg,
      p75Ns: result.ok.p75,
      n: result.ok.n,
      ratio: undefined,
      ratioP75: undefined,
    };
  });
  for (const row of rows) {
    const base = rows.find((r) => r.baseline && r.group === row.group);
    if (!base) continue;
    row.ratio = row.avgNs / base.avgNs;
    row.ratioP75 = row.p75Ns / base.p75Ns;
  }
  return rows;
}

/** Runs `deno bench --json` on the micro-benchmarks and parses the result. */
export async function runMicroBenchmarks(): Promise<MicroResult[]> {
  const { stdout, stderr, success } = await new Deno.Command(
    Deno.execPath(),
    {
      args: ["bench", "--json", ...MICRO_FILES],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  if (!success) {
    throw new Error(
      `deno bench failed:\n${new TextDecoder().decode(stderr)}`,
    );
  }
  return parseDenoBench(JSON.parse(new TextDecoder().decode(stdout)));
}

/** A micro target counts as met only when both the avg and p75 ratios meet it. */
function microTargetMet(row: MicroResult, maxRatio: number): boolean {
  return row.ratio !== undefined && row.ratioP75 !== undefined &&
    row.ratio <= maxRatio && row.ratioP75 <= maxRatio;
}

export function microSection(rows: MicroResult[]): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  const parts = [
    `## Micro-benchmarks (\`deno bench\`)`,
    "",
    `\`deno bench --json ${
      MICRO_FILES.join(" ")
    }\`; each bench against the baseline of its group, in the same file. Ratios are of the mean time per iteration (lower is better) and of the 75th percentile, which is less swayed by the noise of a shared machine; a target is met only when both ratios meet it.`,
  ];
  for (const group of groups) {
    const body = rows.filter((r) => r.group === group).map((row) => {
      const target = MICRO_TARGETS.find((t) =>
        t.group === row.group && t.name === row.name
      );
      return [
        row.baseline ? `${row.name} (baseline)` : row.name,
        formatNs(row.avgNs),
        formatNs(row.p75Ns),
        row.baseline ? "1" : `**${formatRatio(row.ratio)}**`,
        row.baseline ? "1" : formatRatio(row.ratioP75),
        target ? `≤ ${target.maxRatio} (${target.why})` : "—",
        target ? met(microTargetMet(row, target.maxRatio)) : "info",
      ];
    });
    parts.push(
      "",
      `### ${group}`,
      "",
      table(
        [
          "bench",
          "avg",
          "p75",
          "ratio (avg)",
          "ratio (p75)",
          "target",
          "result",
        ],
        body,
      ),
    );
  }
  return parts.join("\n");
}
