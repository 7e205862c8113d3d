/**
 * Formatting shared by the sections of the benchmark report: sizes, ratios,
 * durations, Markdown tables, the met / not met / inconclusive marks and
 * the spread of paired ratios.
 *
 * @module
 */

import { formatValue } from "./charts.ts";
import type { Spread, Verdict } from "./paired.ts";

const MiB = 1024 * 1024;

/** Bytes per second of a curl `--limit-rate` value such as `1M` or `500K`. */
export function parseCurlRate(rate: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(rate.trim());
  if (!match) throw new RangeError(`not a curl rate: ${rate}`);
  const unit = { "": 1, K: 1024, M: MiB, G: 1024 * MiB }[
    match[2]!.toUpperCase() as "" | "K" | "M" | "G"
  ];
  return Number(match[1]) * unit;
}

/** `1 GiB`, `256 MiB`, `4 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  for (
    const [unit, size] of [["GiB", 1024 * MiB], ["MiB", MiB], [
      "KiB",
      1024,
    ]] as const
  ) {
    if (bytes >= size) return `${formatValue(bytes / size)} ${unit}`;
  }
  return `${bytes} B`;
}

/** A ratio with two decimals (three below 0.1). */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return "—";
  return ratio.toFixed(ratio < 0.1 ? 3 : 2);
}

/** A duration in ns as ns, µs or ms. */
export function formatNs(ns: number): string {
  if (ns < 1_000) return `${formatValue(ns)} ns`;
  if (ns < 1_000_000) return `${formatValue(ns / 1_000)} µs`;
  return `${formatValue(ns / 1_000_000)} ms`;
}

/** `1 round`, `3 rounds`. */
export const plural = (n: number, word: string): string =>
  `${n} ${word}${n === 1 ? "" : "s"}`;
/** The result cell of a target. */
export const met = (ok: boolean): string => (ok ? "✅ met" : "❌ not met");
/** Whether a step's result is its failure. */
export const isError = (value: unknown): value is { error: string } =>
  typeof value === "object" && value !== null && "error" in value;

/** A Markdown table. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
  ].join("\n");
}

/** The result cell of a target judged over pairs. */
export const verdictMark = (verdict: Verdict): string =>
  verdict === "met"
    ? met(true)
    : verdict === "not met"
    ? met(false)
    : "❔ inconclusive";

/**
 * How the pairs of a comparison spread: `IQR 0.82–0.91 · range 0.78–0.95
 * · 6 pairs` (one pair: only the count).
 */
export function formatSpread(spread: Spread | undefined): string {
  if (spread === undefined) return "—";
  const { q1, q3, min, max, count } = spread;
  if (count === 1) return "1 pair";
  return `IQR ${formatRatio(q1)}–${formatRatio(q3)} · range ${
    formatRatio(min)
  }–${formatRatio(max)} · ${plural(count, "pair")}`;
}
