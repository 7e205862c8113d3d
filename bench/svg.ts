/**
 * Charts for the benchmark report, as self-contained SVG strings (no
 * dependencies, no scripts, no external fonts):
 *
 * - {@linkcode barChart}: groups of horizontal bars, each group scaled to its
 *   own largest value, so a measurement sits next to its baseline in the
 *   same units; an optional dashed target line per group.
 * - {@linkcode timelineChart}: the reader and writer tasks of one upload as
 *   two lanes over time, coloured by what each task was doing (waiting for
 *   the network, blocked on a full queue, writing, idle on an empty queue).
 *
 * @example Usage
 * ```ts
 * import { barChart } from "./svg.ts";
 *
 * const svg = barChart({
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
  /** Appended to each value, e.g. `"MiB/s"`. */
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
  /** Total width in px. @default {860} */
  width?: number;
}

/** One operation of a task, in ms from the start of the upload. */
export interface TimelineSegment {
  /** `"reader"`, `"writer"`, or `"commit"` (drawn across both lanes). */
  task: string;
  /** `read`/`put` for the reader, `get`/`write` for the writer. */
  op: string;
  startMs: number;
  endMs: number;
}

/** Options of {@linkcode timelineChart}. */
export interface TimelineChartOptions {
  title: string;
  /** Smaller lines under the title, separated by `\n`. */
  subtitle?: string;
  /** The upload's verdict, shown in the title. */
  bound?: string | undefined;
  events: TimelineSegment[];
  /** Total width in px. @default {860} */
  width?: number;
  /** Width of one time bin in px. @default {2} */
  binPx?: number;
}

/** What a task was doing: the colours of the timeline. */
export type TaskState = "read-wait" | "put-blocked" | "write" | "get-idle";

/** Colour and meaning of each {@linkcode TaskState}. */
export const TASK_STATES: Readonly<
  Record<TaskState, { color: string; label: string }>
> = {
  "read-wait": {
    color: "#4e79a7",
    label: "read-wait: reader waits on the network",
  },
  "put-blocked": {
    color: "#e15759",
    label: "put-blocked: reader waits on a full queue",
  },
  "write": { color: "#59a14f", label: "write: writer in a disk write" },
  "get-idle": {
    color: "#f1b52e",
    label: "get-idle: writer waits on an empty queue",
  },
};

/** The lanes of the timeline, top to bottom, and the states each can be in. */
export const TIMELINE_LANES: ReadonlyArray<
  { task: string; states: Readonly<Record<string, TaskState>> }
> = [
  { task: "reader", states: { read: "read-wait", put: "put-blocked" } },
  { task: "writer", states: { write: "write", get: "get-idle" } },
];

const FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif";
const BASELINE_COLOR = "#9aa3ad";
const MEASURED_COLOR = "#3b6ea8";
const LANE_BACKGROUND = "#e9ecef";
const COMMIT_COLOR = "#6c757d";

/** Escapes `text` for use in SVG text content and attribute values. */
export function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

/** A number with at most `digits` decimals and no trailing zeros. */
function num(n: number, digits = 2): string {
  return String(Math.round(n * 10 ** digits) / 10 ** digits);
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

/**
 * Round tick positions from 0 up to `max`: steps of 1, 2 or 5 times a power
 * of ten, about `count` of them.
 */
export function niceTicks(max: number, count = 8): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  // The candidate closest to the rough step, on a log scale.
  const step = [1, 2, 5, 10].map((m) => m * power).reduce((a, b) =>
    Math.abs(Math.log(a / rough)) <= Math.abs(Math.log(b / rough)) ? a : b
  );
  const ticks: number[] = [];
  for (let i = 0; i * step <= max * (1 + 1e-9); i++) {
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return ticks;
}

function text(
  x: number,
  y: number,
  content: string,
  attributes: Record<string, string | number> = {},
): string {
  const attrs = Object.entries(attributes)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`).join("");
  return `<text x="${num(x)}" y="${num(y)}"${attrs}>${
    escapeXml(content)
  }</text>`;
}

function svgDocument(
  width: number,
  height: number,
  title: string,
  body: string[],
): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${
      num(height)
    }" viewBox="0 0 ${width} ${num(height)}" role="img" style="${FONT}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    `</svg>`,
    "",
  ].join("\n");
}

/**
 * Draws groups of horizontal bars. Each group is scaled so its largest
 * value (or its target, if larger) spans the bar area; the value and the
 * bar's note are printed after each bar.
 *
 * @throws {RangeError} when a value is negative or not finite.
 */
export function barChart(options: BarChartOptions): string {
  const { title, subtitle, groups, width = 860 } = options;
  const labelWidth = 230;
  const textWidth = 250;
  const barArea = width - labelWidth - textWidth - 20;
  const barHeight = 22;
  const barGap = 8;
  const body: string[] = [];
  let y = 30;
  body.push(
    text(16, y, title, { "font-size": 18, "font-weight": 600, fill: "#222" }),
  );
  for (const line of subtitle?.split("\n") ?? []) {
    y += 20;
    body.push(text(16, y, line, { "font-size": 12, fill: "#555" }));
  }
  y += 16;
  for (const group of groups) {
    for (const bar of group.bars) {
      if (!Number.isFinite(bar.value) || bar.value < 0) {
        throw new RangeError(
          `bar "${bar.label}" needs a finite value >= 0, got ${bar.value}`,
        );
      }
    }
    const max = Math.max(
      ...group.bars.map((bar) => bar.value),
      group.target?.value ?? 0,
    );
    const scale = max > 0 ? barArea / max : 0;
    y += 24;
    body.push(
      text(16, y, group.title, {
        "font-size": 14,
        "font-weight": 600,
        fill: "#222",
      }),
    );
    y += 10;
    const top = y;
    const labels: string[] = [];
    for (const bar of group.bars) {
      const length = bar.value * scale;
      const color = bar.baseline ? BASELINE_COLOR : MEASURED_COLOR;
      body.push(
        text(labelWidth - 8, y + barHeight / 2 + 4, bar.label, {
          "font-size": 13,
          "text-anchor": "end",
          fill: "#333",
        }),
        `<rect class="bar${
          bar.baseline ? " baseline" : ""
        }" x="${labelWidth}" y="${num(y)}" width="${
          num(length)
        }" height="${barHeight}" fill="${color}"/>`,
      );
      const label = `${formatValue(bar.value)} ${group.unit}` +
        (bar.note ? ` · ${bar.note}` : "");
      labels.push(
        text(labelWidth + length + 6, y + barHeight / 2 + 4, label, {
          "font-size": 12,
          fill: "#222",
          // A white halo keeps the label readable over the target line.
          stroke: "#fff",
          "stroke-width": 3,
          "paint-order": "stroke",
        }),
      );
      y += barHeight + barGap;
    }
    if (group.target && scale > 0) {
      const x = labelWidth + group.target.value * scale;
      body.push(
        `<line class="target" x1="${num(x)}" y1="${num(top - 4)}" x2="${
          num(x)
        }" y2="${
          num(y - barGap + 4)
        }" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="4 3"/>`,
        text(x, y + 8, group.target.label, {
          "font-size": 11,
          "text-anchor": "middle",
          fill: "#c0392b",
        }),
      );
      y += 12;
    }
    body.push(...labels);
  }
  y += 16;
  return svgDocument(width, y, title, body);
}

/** Time (ms) each state of one lane takes in each bin. */
function binLane(
  events: TimelineSegment[],
  states: Readonly<Record<string, TaskState>>,
  bins: number,
  binMs: number,
): Map<TaskState, Float64Array> {
  const shares = new Map<TaskState, Float64Array>();
  for (const event of events) {
    const state = states[event.op];
    if (state === undefined) continue;
    let share = shares.get(state);
    if (!share) shares.set(state, share = new Float64Array(bins));
    const first = Math.max(0, Math.floor(event.startMs / binMs));
    const last = Math.min(bins - 1, Math.floor(event.endMs / binMs));
    for (let b = first; b <= last; b++) {
      const overlap = Math.min(event.endMs, (b + 1) * binMs) -
        Math.max(event.startMs, b * binMs);
      if (overlap > 0) share[b]! += overlap;
    }
  }
  return shares;
}

/** Total ms per state of each lane (the figures under the chart). */
export function laneTotals(
  events: TimelineSegment[],
): Record<string, Partial<Record<TaskState, number>>> {
  const totals: Record<string, Partial<Record<TaskState, number>>> = {};
  for (const { task, states } of TIMELINE_LANES) {
    const lane: Partial<Record<TaskState, number>> = {};
    for (const event of events) {
      const state = event.task === task ? states[event.op] : undefined;
      if (state === undefined) continue;
      lane[state] = (lane[state] ?? 0) + (event.endMs - event.startMs);
    }
    totals[task] = lane;
  }
  return totals;
}

/**
 * Draws the reader and writer lanes of one upload over time. Time is cut
 * into bins of `binPx` pixels; in each bin a lane shows, stacked, the share
 * of the bin each state took, so operations far shorter than a pixel still
 * add up visibly and a long wait is one solid block. What is left of a bin
 * is time in neither state (CPU work: hashing, copying, logging). A commit
 * (fsync and rename) is drawn as a band across both lanes.
 */
export function timelineChart(options: TimelineChartOptions): string {
  const { title, subtitle, bound, events, width = 860, binPx = 2 } = options;
  const left = 90;
  const right = 24;
  const plotWidth = width - left - right;
  const laneHeight = 44;
  const laneGap = 14;
  const spanMs = Math.max(1e-3, ...events.map((e) => e.endMs));
  const bins = Math.max(1, Math.floor(plotWidth / binPx));
  const binMs = spanMs / bins;
  const xOf = (ms: number) => left + (ms / spanMs) * plotWidth;
  const verdict = bound === "read"
    ? "read-bound: the writer waited on the network"
    : bound === "write"
    ? "write-bound: the reader waited on the disk"
    : bound === undefined
    ? undefined
    : `${bound}-bound`;
  const fullTitle = verdict ? `${title} — ${verdict}` : title;

  const body: string[] = [];
  let y = 28;
  body.push(
    text(16, y, title, { "font-size": 16, "font-weight": 600, fill: "#222" }),
  );
  if (verdict) {
    y += 22;
    body.push(
      text(16, y, verdict, {
        class: "verdict",
        "font-size": 15,
        "font-weight": 700,
        fill: bound === "read"
          ? TASK_STATES["read-wait"].color
          : bound === "write"
          ? TASK_STATES["put-blocked"].color
          : "#222",
      }),
    );
  }
  for (const line of subtitle?.split("\n") ?? []) {
    y += 18;
    body.push(text(16, y, line, { "font-size": 12, fill: "#555" }));
  }
  y += 20;
  const lanesTop = y;
  for (const { task, states } of TIMELINE_LANES) {
    const laneEvents = events.filter((e) => e.task === task);
    const shares = binLane(laneEvents, states, bins, binMs);
    body.push(
      `<g class="lane" data-task="${escapeXml(task)}">`,
      text(left - 10, y + laneHeight / 2 + 5, task, {
        "font-size": 14,
        "font-weight": 600,
        "text-anchor": "end",
        fill: "#222",
      }),
      `<rect class="lane-background" x="${left}" y="${y}" width="${plotWidth}" height="${laneHeight}" fill="${LANE_BACKGROUND}"/>`,
    );
    // Heights per bin, state by state in lane order, rounded to 0.25 px so
    // neighbouring bins that look alike merge into one rectangle.
    const order = Object.values(states);
    const heights = (b: number) =>
      order.map((state) =>
        Math.round(
          Math.min(1, (shares.get(state)?.[b] ?? 0) / binMs) * laneHeight * 4,
        ) / 4
      );
    let start = 0;
    let current = heights(0);
    const flush = (end: number) => {
      let offset = 0;
      current.forEach((h, i) => {
        if (h <= 0) return;
        const state = order[i]!;
        const x0 = left + (start / bins) * plotWidth;
        const x1 = left + (end / bins) * plotWidth;
        body.push(
          `<rect class="${state}" x="${num(x0)}" y="${
            num(y + offset)
          }" width="${num(x1 - x0)}" height="${
            num(Math.min(h, laneHeight - offset))
          }" fill="${TASK_STATES[state].color}"/>`,
        );
        offset += h;
      });
    };
    for (let b = 1; b < bins; b++) {
      const next = heights(b);
      if (next.every((h, i) => h === current[i])) continue;
      flush(b);
      start = b;
      current = next;
    }
    flush(bins);
    body.push(`</g>`);
    y += laneHeight + laneGap;
  }
  const lanesBottom = y - laneGap;

  for (const event of events.filter((e) => e.task === "commit")) {
    const x0 = xOf(event.startMs);
    const x1 = Math.max(x0 + 1, xOf(event.endMs));
    body.push(
      `<rect class="commit" x="${num(x0)}" y="${num(lanesTop - 4)}" width="${
        num(x1 - x0)
      }" height="${
        num(lanesBottom - lanesTop + 8)
      }" fill="${COMMIT_COLOR}" fill-opacity="0.35" stroke="${COMMIT_COLOR}"/>`,
    );
    if (x1 - x0 >= 44) {
      body.push(
        text((x0 + x1) / 2, lanesTop + laneHeight + laneGap / 2 + 4, "commit", {
          "font-size": 11,
          "text-anchor": "middle",
          fill: "#222",
        }),
      );
    }
  }

  // The time axis.
  y = lanesBottom + 6;
  body.push(
    `<line class="axis" x1="${left}" y1="${num(y)}" x2="${
      left + plotWidth
    }" y2="${num(y)}" stroke="#444"/>`,
  );
  for (const tick of niceTicks(spanMs)) {
    const x = xOf(tick);
    if (x > left + plotWidth + 0.5) continue;
    body.push(
      `<line x1="${num(x)}" y1="${num(y)}" x2="${num(x)}" y2="${
        num(y + 5)
      }" stroke="#444"/>`,
      text(x, y + 18, `${formatValue(tick)}`, {
        "font-size": 11,
        "text-anchor": "middle",
        fill: "#333",
      }),
    );
  }
  body.push(
    text(left + plotWidth, y + 34, "time since the first read, ms", {
      "font-size": 11,
      "text-anchor": "end",
      fill: "#555",
    }),
  );

  // What each lane added up to.
  const totals = laneTotals(events);
  y += 54;
  for (const { task, states } of TIMELINE_LANES) {
    const parts = Object.values(states).map((state) => {
      const ms = totals[task]?.[state] ?? 0;
      return `${state} ${formatValue(ms)} ms (${
        formatValue((ms / spanMs) * 100)
      }%)`;
    });
    body.push(
      text(16, y, `${task}: ${parts.join(" · ")}`, {
        "font-size": 12,
        fill: "#222",
      }),
    );
    y += 18;
  }

  // The legend.
  y += 8;
  const legend: Array<{ color: string; label: string; opacity?: number }> = [
    ...Object.values(TASK_STATES),
    { color: LANE_BACKGROUND, label: "neither: CPU work (hash, copy, log)" },
    {
      color: COMMIT_COLOR,
      label: "commit: fsync + rename",
      opacity: 0.35,
    },
  ];
  const columnWidth = (width - 32) / 2;
  legend.forEach((entry, i) => {
    const x = 16 + (i % 2) * columnWidth;
    const rowY = y + Math.floor(i / 2) * 20;
    body.push(
      `<rect class="legend" x="${num(x)}" y="${
        num(rowY - 11)
      }" width="14" height="14" fill="${entry.color}"${
        entry.opacity === undefined ? "" : ` fill-opacity="${entry.opacity}"`
      } stroke="#888" stroke-width="0.5"/>`,
      text(x + 20, rowY, entry.label, { "font-size": 12, fill: "#222" }),
    );
  });
  y += Math.ceil(legend.length / 2) * 20 + 4;
  return svgDocument(width, y, fullTitle, body);
}
