/**
 * The reader/writer timeline of one upload as a Vega-Lite chart: two lanes
 * over time, coloured by what each task was doing.
 *
 * An upload makes thousands of operations far shorter than a pixel, so time
 * is cut into bins and each lane shows, stacked, the share of each bin each
 * state took: short operations still add up visibly and a long wait is one
 * solid block. What is left of a bin is time in neither state (CPU work).
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import { baseConfig, formatValue, renderSvg, STYLE } from "./charts.ts";

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
  /** The upload's verdict (`"read"` or `"write"`), shown under the title. */
  bound?: string | undefined;
  events: TimelineSegment[];
  /** Width of the lanes in px. @default {720} */
  width?: number;
  /** Number of time bins across the lanes. @default {360} */
  bins?: number;
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

const NEITHER = {
  color: "#e9ecef",
  label: "neither: CPU work (hash, copy, log)",
};
const COMMIT = { color: "#a3a9b0", label: "commit: fsync + rename" };

/** Total ms per state of each lane (the figures in the legend). */
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

/** Share (0 to 1) of each of `bins` bins that `events` of `op` covered. */
function binShares(
  events: TimelineSegment[],
  bins: number,
  binMs: number,
): Float64Array {
  const share = new Float64Array(bins);
  for (const { startMs, endMs } of events) {
    const first = Math.max(0, Math.floor(startMs / binMs));
    const last = Math.min(bins - 1, Math.floor(endMs / binMs));
    for (let b = first; b <= last; b++) {
      const overlap = Math.min(endMs, (b + 1) * binMs) -
        Math.max(startMs, b * binMs);
      if (overlap > 0) share[b]! += overlap / binMs;
    }
  }
  return share;
}

/** One rectangle of the chart, in ms across and share of a bin up. */
interface Cell {
  lane: string;
  state: string;
  start: number;
  end: number;
  y0: number;
  y1: number;
}

/**
 * The stacked cells of one lane. Shares are rounded to 1/200 so that
 * neighbouring bins that look alike merge into one cell.
 */
function laneCells(
  task: string,
  states: Readonly<Record<string, TaskState>>,
  events: TimelineSegment[],
  { bins, binMs, legend }: {
    bins: number;
    binMs: number;
    legend: Record<string, string>;
  },
): Cell[] {
  const columns = Object.entries(states).map(([op, state]) => ({
    state: legend[state]!,
    share: binShares(
      events.filter((e) => e.task === task && e.op === op),
      bins,
      binMs,
    ),
  }));
  const stacked = (b: number) => {
    let top = 0;
    return columns.map(({ share }) => {
      const y0 = top;
      top = Math.min(1, top + Math.round(share[b]! * 200) / 200);
      return [y0, top] as const;
    });
  };
  const cells: Cell[] = [];
  let start = 0;
  let current = stacked(0);
  for (let b = 1; b <= bins; b++) {
    const next = b < bins ? stacked(b) : undefined;
    if (
      next?.every(([y0, y1], i) =>
        y0 === current[i]![0] && y1 === current[i]![1]
      )
    ) continue;
    current.forEach(([y0, y1], i) => {
      if (y1 > y0) {
        cells.push({
          lane: task,
          state: columns[i]!.state,
          start: start * binMs,
          end: b * binMs,
          y0,
          y1,
        });
      }
    });
    start = b;
    if (next) current = next;
  }
  return cells;
}

/** The legend's label of each state, with what it added up to. */
function legendLabels(
  events: TimelineSegment[],
  spanMs: number,
): Record<string, string> {
  const totals = laneTotals(events);
  const labels: Record<string, string> = {};
  for (const { task, states } of TIMELINE_LANES) {
    for (const state of Object.values(states)) {
      const ms = totals[task]?.[state] ?? 0;
      labels[state] = `${TASK_STATES[state].label} — ${formatValue(ms)} ms (${
        formatValue((ms / spanMs) * 100)
      }%)`;
    }
  }
  const commitMs = events.filter((e) => e.task === "commit")
    .reduce((sum, e) => sum + e.endMs - e.startMs, 0);
  labels.commit = `${COMMIT.label} — ${formatValue(commitMs)} ms`;
  return labels;
}

/** What the verdict says, in the colour of the reader's limiting state. */
function verdictTitle(bound: string | undefined) {
  if (bound === undefined) return undefined;
  const [text, color] = bound === "read"
    ? [
      "read-bound: the writer waited on the network",
      TASK_STATES["read-wait"].color,
    ]
    : bound === "write"
    ? [
      "write-bound: the reader waited on the disk",
      TASK_STATES["put-blocked"].color,
    ]
    : [`${bound}-bound`, STYLE.text];
  return { text, color, fontSize: 15, fontWeight: 700 } as const;
}

/**
 * The cells of both lanes: each lane's background, its states bin by bin,
 * and the commit as a band across both lanes.
 */
function timelineCells(
  events: TimelineSegment[],
  spanMs: number,
  bins: number,
  legend: Record<string, string>,
): Cell[] {
  const lane = (task: string, state: string, start: number, end: number) => ({
    lane: task,
    state,
    start,
    end,
    y0: 0,
    y1: 1,
  });
  const cells: Cell[] = TIMELINE_LANES.flatMap(({ task, states }) => [
    lane(task, NEITHER.label, 0, spanMs),
    ...laneCells(task, states, events, { bins, binMs: spanMs / bins, legend }),
  ]);
  for (const commit of events.filter((e) => e.task === "commit")) {
    for (const { task } of TIMELINE_LANES) {
      cells.push(lane(task, legend.commit!, commit.startMs, commit.endMs));
    }
  }
  return cells;
}

/** The colour of each state, as the legend names it (with its total). */
function stateColors(legend: Record<string, string>) {
  const states = Object.keys(TASK_STATES) as TaskState[];
  return {
    field: "state",
    type: "nominal" as const,
    scale: {
      domain: [
        ...states.map((s) => legend[s]!),
        NEITHER.label,
        legend.commit!,
      ],
      range: [
        ...states.map((s) => TASK_STATES[s].color),
        NEITHER.color,
        COMMIT.color,
      ],
    },
    legend: {
      title: null,
      orient: "bottom" as const,
      columns: 2,
      symbolType: "square",
      symbolSize: 180,
      rowPadding: 6,
      columnPadding: 24,
    },
  };
}

/** One lane's chart: its cells as bars along the time axis. */
function laneSpec(
  width: number,
  spanMs: number,
  legend: Record<string, string>,
) {
  return {
    width,
    height: 44,
    mark: { type: "rect" as const, aria: false },
    encoding: {
      x: {
        field: "start",
        type: "quantitative" as const,
        title: "time since the first read, ms",
        scale: { domain: [0, spanMs], nice: false },
        axis: { grid: false, tickCount: 10 },
      },
      x2: { field: "end" },
      y: {
        field: "y0",
        type: "quantitative" as const,
        scale: { domain: [0, 1] },
        axis: null,
      },
      y2: { field: "y1" },
      color: stateColors(legend),
    },
  };
}

/**
 * Draws the reader and writer lanes of one upload over time (see the module
 * doc), the commit (fsync and rename) as a band across both lanes, and a
 * legend with each state's total time.
 *
 * @throws {RangeError} when `bins` is not a positive integer.
 */
export function timelineChart(options: TimelineChartOptions): Promise<string> {
  const { title, subtitle, bound, events, width = 720, bins = 360 } = options;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  }
  const spanMs = Math.max(1e-3, ...events.map((e) => e.endMs));
  const legend = legendLabels(events, spanMs);
  const spec: TopLevelSpec = {
    title: { text: title, subtitle: subtitle?.split("\n") ?? [] },
    description: [title, verdictTitle(bound)?.text].filter(Boolean).join(" — "),
    config: baseConfig(),
    vconcat: [{
      ...(bound === undefined ? {} : { title: verdictTitle(bound)! }),
      data: { values: timelineCells(events, spanMs, bins, legend) },
      facet: {
        row: {
          field: "lane",
          type: "nominal",
          sort: TIMELINE_LANES.map((l) => l.task),
          title: null,
          header: {
            labelAngle: 0,
            labelOrient: "left",
            labelAlign: "right",
            labelFontSize: 14,
            labelFontWeight: 600,
            labelColor: STYLE.text,
          },
        },
      },
      spacing: 10,
      spec: laneSpec(width, spanMs, legend),
    }],
  };
  return renderSvg(spec);
}
