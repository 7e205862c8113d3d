/**
 * Charts for the benchmark report: Vega-Lite specs, rendered to standalone
 * SVG by Vega without a browser or a canvas.
 *
 * - {@linkcode barChart}: groups of horizontal bars, each group on its own
 *   scale and unit, so a measurement sits next to its baselines; an optional
 *   dashed target line per group.
 * - {@linkcode timelineChart}: the reader and writer tasks of one upload as
 *   two lanes over time, coloured by what each task was doing (waiting for
 *   the network, blocked in `put` on a full queue, writing, idle in `get` on
 *   an empty queue).
 *
 * Only `bench/` imports this module: Vega stays out of the server's graph.
 *
 * @example Usage
 * ```ts
 * import { barChart } from "./charts.ts";
 *
 * const svg = await barChart({
 *   title: "Cached GET /posts/1",
 *   groups: [{
 *     title: "requests per second",
 *     unit: "req/s",
 *     bars: [
 *       { label: "service", value: 9100, note: "0.91 × baseline" },
 *       { label: "minimal Deno.serve", value: 10000, baseline: true },
 *     ],
 *   }],
 * });
 * ```
 *
 * @module
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { textWidth } from "./text_width.ts";

/** One bar of a {@linkcode BarGroup}. */
export interface Bar {
  /** Shown left of the bar. */
  label: string;
  /** Length of the bar, in the group's unit; finite and >= 0. */
  value: number;
  /** A baseline is drawn in grey. @default {false} */
  baseline?: boolean;
  /** Shown after the value, e.g. `"0.91 × baseline"`. */
  note?: string;
}

/** Bars sharing one unit and one scale. */
export interface BarGroup {
  /** Shown above the bars. */
  title: string;
  /** The axis title and the suffix of each value, e.g. `"MiB/s"`. */
  unit: string;
  bars: Bar[];
  /** A dashed vertical line at `value`, labelled `label`. */
  target?: { value: number; label: string };
}

/** Options of {@linkcode barChart}. */
export interface BarChartOptions {
  title: string;
  /** Smaller lines under the title, separated by `\n`. */
  subtitle?: string;
  groups: BarGroup[];
  /** Width of the bar area in px. @default {420} */
  width?: number;
}

/** The colours and fonts both charts share. */
export const STYLE = {
  // The faces whose widths bench/text_width.ts knows (Liberation Sans is
  // Arial's metric twin on Linux), so labels are laid out to fit.
  font: "Helvetica, Arial, Liberation Sans, sans-serif",
  measured: "#3b6ea8",
  baseline: "#9aa3ad",
  target: "#c0392b",
  text: "#222222",
  muted: "#555555",
} as const;

/** The legend entries of the bars. */
export const BAR_KINDS = {
  measured: "measured (this service)",
  baseline: "baseline (same run, same machine)",
} as const;

// Vega measures text with a canvas when it has one; Deno has none, and
// Vega's fallback (0.8 em per character) makes every label box half again
// too wide. vl-convert replaces the measure the same way.
(vega as unknown as { textMetrics: TextMetrics }).textMetrics.width = (
  item,
  text,
) =>
  textWidth(String(text ?? ""), {
    fontSize: Number(item.fontSize ?? 11),
    bold: /bold|[6-9]00/.test(String(item.fontWeight ?? "")),
  });

/** The part of Vega's text measure (not in its typings) replaced above. */
interface TextMetrics {
  width(
    item: { fontSize?: number | string; fontWeight?: number | string },
    text: unknown,
  ): number;
}

/** One view of a vertical concatenation. */
type ConcatView = Extract<
  TopLevelSpec,
  { vconcat: unknown }
>["vconcat"][number];

/** One layer of a layered view. */
type Layer = Extract<ConcatView, { layer: unknown }>["layer"][number];

/**
 * Renders a Vega-Lite spec as a standalone SVG document, its `description`
 * as the document's `<title>` (the name a screen reader or a tooltip gives).
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), {
    renderer: "none",
  });
  try {
    const svg = await view.toSVG();
    const title = escapeXml(spec.description ?? "");
    return svg.replace(
      /^<svg[^>]*>/,
      (open) => `${open}<title>${title}</title>`,
    );
  } finally {
    view.finalize();
  }
}

/** Escapes `text` for SVG text content. */
function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

/** The config shared by both charts: fonts, sizes, colours. */
export function baseConfig(): NonNullable<TopLevelSpec["config"]> {
  return {
    font: STYLE.font,
    background: "#ffffff",
    padding: 16,
    title: {
      anchor: "start",
      fontSize: 18,
      fontWeight: 600,
      color: STYLE.text,
      subtitleFontSize: 12,
      subtitleColor: STYLE.muted,
      subtitlePadding: 6,
      offset: 14,
    },
    axis: {
      labelFontSize: 11,
      titleFontSize: 12,
      titleFontWeight: 400,
      titleColor: STYLE.muted,
      labelColor: "#333333",
    },
    legend: { labelFontSize: 12, labelLimit: 0, labelColor: STYLE.text },
    view: { stroke: null },
  };
}

/** Formats a value for a label: thousands grouped, sensible decimals. */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  });
}

/** The rows one group's layers draw: a bar and its printed value each. */
function barRows(group: BarGroup) {
  return group.bars.map((bar) => {
    if (!Number.isFinite(bar.value) || bar.value < 0) {
      throw new RangeError(
        `bar "${bar.label}" needs a finite value >= 0, got ${bar.value}`,
      );
    }
    return {
      label: bar.label,
      value: bar.value,
      kind: bar.baseline ? BAR_KINDS.baseline : BAR_KINDS.measured,
      text: `${formatValue(bar.value)} ${group.unit}` +
        (bar.note ? ` · ${bar.note}` : ""),
    };
  });
}

/** The x encoding of a bar's value. */
const VALUE_X = { field: "value", type: "quantitative" } as const;

/** A group's target as a dashed line with its label, or nothing. */
function targetLayers(target: BarGroup["target"]): Layer[] {
  if (target === undefined) return [];
  const x = VALUE_X;
  return [{
    data: { values: [target] },
    mark: {
      type: "rule",
      color: STYLE.target,
      strokeDash: [4, 3],
      strokeWidth: 1.5,
    },
    encoding: { x },
  }, {
    data: { values: [target] },
    mark: {
      type: "text",
      color: STYLE.target,
      fontSize: 11,
      baseline: "bottom",
      dy: -3,
    },
    encoding: { x, y: { value: 0 }, text: { field: "label" } },
  }];
}

/** The layers of one bar group: target line and label, bars, values. */
function barGroupSpec(group: BarGroup, width: number): ConcatView {
  const y = {
    field: "label",
    type: "nominal",
    sort: null,
    title: null,
    axis: { labelFontSize: 13, labelColor: STYLE.text, ticks: false },
  } as const;
  const x = VALUE_X;
  const max = Math.max(...group.bars.map((b) => b.value), 0);
  const target = group.target;
  return {
    title: { text: group.title, fontSize: 14, offset: 20 },
    width,
    height: { step: 30 },
    data: { values: barRows(group) },
    layer: [
      ...targetLayers(target),
      {
        mark: { type: "bar", height: 22 },
        encoding: {
          y,
          x: {
            ...x,
            title: group.unit,
            scale: { domainMax: Math.max(max, target?.value ?? 0) },
          },
          color: {
            field: "kind",
            type: "nominal",
            title: null,
            scale: {
              domain: [BAR_KINDS.measured, BAR_KINDS.baseline],
              range: [STYLE.measured, STYLE.baseline],
            },
            legend: { symbolType: "square" },
          },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 6, fontSize: 12 },
        encoding: {
          y,
          x,
          text: { field: "text" },
          color: { value: STYLE.text },
        },
      },
    ],
  };
}

/**
 * Draws groups of horizontal bars. Each group has its own scale, from 0 to
 * its largest value or its target, and its unit as the axis title; the
 * value and the bar's note are printed after each bar.
 *
 * @throws {RangeError} when a value is negative or not finite.
 */
export function barChart(options: BarChartOptions): Promise<string> {
  const { title, subtitle, groups, width = 420 } = options;
  const config = baseConfig();
  return renderSvg({
    title: { text: title, subtitle: subtitle?.split("\n") ?? [] },
    description: title,
    config: { ...config, legend: { ...config.legend, orient: "top" } },
    vconcat: groups.map((group) => barGroupSpec(group, width)),
    spacing: 28,
    resolve: { scale: { x: "independent" } },
  });
}
