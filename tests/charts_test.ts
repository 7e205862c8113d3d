/**
 * Tests of the benchmark charts: well-formed SVG documents that carry their
 * title, axis titles with units, legend and value labels, with marks at the
 * places the data puts them. Vega lays the charts out; these tests check
 * what it drew, not how.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BAR_KINDS, barChart, STYLE } from "../bench/charts.ts";
import { textWidth } from "../bench/text_width.ts";
import {
  laneTotals,
  TASK_STATES,
  timelineChart,
  type TimelineSegment,
} from "../bench/timeline_chart.ts";

/** A start or end tag, a comment, text, or anything else (an error). */
const TOKEN =
  /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z][\w:.-]*\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)|([\s\S])/g;
const ATTRIBUTE = /([A-Za-z][\w:.-]*)\s*=\s*"([^"]*)"/g;
const BAD_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: Element[];
}

/**
 * Parses `xml` strictly enough to catch what a browser would reject in an
 * SVG file: unbalanced or crossed tags, bare `&` or `<`, duplicate or
 * unquoted attributes, more than one root. Resolves the root element.
 */
function parseXml(xml: string): Element {
  const roots: Element[] = [];
  const stack: Element[] = [];
  for (const match of xml.matchAll(TOKEN)) {
    const [token, closing, name, attrs, selfClosing, text, stray] = match;
    if (stray !== undefined) {
      throw new Error(`stray "${stray}" at ${match.index}: ${token}`);
    }
    if (text !== undefined) {
      if (BAD_AMPERSAND.test(text)) throw new Error(`bare & in "${text}"`);
      if (stack.length === 0) {
        if (text.trim() !== "") throw new Error(`text outside the root`);
      } else {
        stack.at(-1)!.text += text;
      }
      continue;
    }
    if (name === undefined) continue; // a comment
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) {
        throw new Error(`</${name}> closes <${open?.name}>`);
      }
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const [, key, value] of (attrs ?? "").matchAll(ATTRIBUTE)) {
      if (key! in attributes) throw new Error(`duplicate ${key} on <${name}>`);
      if (BAD_AMPERSAND.test(value!)) throw new Error(`bare & in ${key}`);
      attributes[key!] = value!;
    }
    const element: Element = { name, attributes, text: "", children: [] };
    if (stack.length > 0) stack.at(-1)!.children.push(element);
    else roots.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> not closed`);
  if (roots.length !== 1) throw new Error(`${roots.length} root elements`);
  return roots[0]!;
}

function all(element: Element, predicate: (e: Element) => boolean): Element[] {
  const found = predicate(element) ? [element] : [];
  for (const child of element.children) found.push(...all(child, predicate));
  return found;
}

const hasClass = (name: string) => (e: Element) =>
  (e.attributes.class ?? "").split(" ").includes(name);
const unescape = (text: string) =>
  text.replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"').replaceAll("&apos;", "'")
    .replaceAll("&amp;", "&");

Deno.test("parseXml() rejects what is not well-formed", () => {
  assert.throws(() => parseXml("<svg><g></svg>"));
  assert.throws(() => parseXml("<svg>a & b</svg>"));
  assert.throws(() => parseXml('<svg a="1" a="2"/>'));
  assert.throws(() => parseXml("<svg/><svg/>"));
  assert.throws(() => parseXml("<svg>1 < 2</svg>"));
  assert.deepEqual(parseXml('<svg a="&amp;">x</svg>').text, "x");
});

/** Every line of text drawn (one per `<tspan>` if it has them), unescaped. */
function texts(root: Element): string[] {
  return all(root, (e) => e.name === "text").flatMap((e) =>
    e.children.length > 0 ? e.children.map((line) => line.text) : [e.text]
  ).map(unescape);
}

/** Where a rectangle drawn as a path (`M x,y h w v h h -w Z`) sits. */
function box(path: Element) {
  const [x, y, width, height] = (path.attributes.d ?? "")
    .match(/^M(-?[\d.]+),(-?[\d.]+)h(-?[\d.]+)v(-?[\d.]+)/)?.slice(1)
    .map(Number) ?? [];
  assert.ok(height !== undefined, `not a rectangle: ${path.attributes.d}`);
  return { x: x!, y: y!, width: width!, height, fill: path.attributes.fill };
}

/** The x of an element placed by `transform="translate(x,y)"`. */
const translateX = (e: Element) =>
  Number(e.attributes.transform?.match(/^translate\((-?[\d.]+),/)?.[1]);

const GROUPS = [
  {
    title: "requests",
    unit: "req/s",
    bars: [
      { label: "a", value: 50_000, note: "0.5 × minimal" },
      { label: "b", value: 100_000, baseline: true },
    ],
  },
  {
    title: "bytes",
    unit: "MiB/s",
    bars: [
      { label: "c", value: 100 },
      { label: "d", value: 400, baseline: true },
      { label: "e", value: 0, baseline: true },
    ],
    target: { value: 300, label: "target ≥ 0.75 × d" },
  },
];

Deno.test("barChart() is a well-formed SVG with its title, units, legend and values", async () => {
  const root = parseXml(
    await barChart({
      title: "Throughput <vs> baselines & more",
      subtitle: "line one\nline two",
      groups: GROUPS,
    }),
  );
  assert.equal(root.name, "svg");
  assert.equal(root.attributes.xmlns, "http://www.w3.org/2000/svg");
  const [title] = all(root, (e) => e.name === "title");
  assert.equal(unescape(title!.text), "Throughput <vs> baselines & more");
  const shown = texts(root);
  for (
    const text of [
      "Throughput <vs> baselines & more",
      "line one",
      "line two",
      "requests",
      "bytes",
      // The axis titles carry the units.
      "req/s",
      "MiB/s",
      BAR_KINDS.measured,
      BAR_KINDS.baseline,
      "a",
      "b",
      "50,000 req/s · 0.5 × minimal",
      "100,000 req/s",
      "0 MiB/s",
      "target ≥ 0.75 × d",
    ]
  ) {
    assert.ok(shown.includes(text), `no "${text}" in ${shown.join("|")}`);
  }
});

Deno.test("barChart() scales each group to its own values and marks baselines and targets", async () => {
  const root = parseXml(await barChart({ title: "t", groups: GROUPS }));
  const bars = all(root, (e) => e.attributes["aria-roledescription"] === "bar")
    .map(box);
  assert.equal(bars.length, 5);
  const [a, b, c, d, e] = bars;
  // Within a group, lengths are proportional to values...
  assert.ok(b!.width > 100);
  assert.equal(a!.width, b!.width / 2);
  assert.equal(c!.width, d!.width / 4);
  assert.equal(e!.width, 0);
  // ...and each group has its own scale: 400 MiB/s is not 0.4% of 100k.
  assert.equal(d!.width, b!.width);
  // Baselines are grey, measurements are not.
  assert.deepEqual(bars.map((bar) => bar.fill), [
    STYLE.measured,
    STYLE.baseline,
    STYLE.measured,
    STYLE.baseline,
    STYLE.baseline,
  ]);
  // The dashed target line sits at its value on its group's scale.
  const [rule] = all(
    root,
    (el) => el.name === "line" && el.attributes.stroke === STYLE.target,
  );
  assert.ok(rule?.attributes["stroke-dasharray"]);
  assert.equal(translateX(rule!), d!.width * 0.75);
});

Deno.test("barChart() rejects negative and non-finite values", async () => {
  for (const value of [-1, NaN, Infinity]) {
    await assert.rejects(
      async () =>
        await barChart({
          title: "t",
          groups: [{ title: "g", unit: "u", bars: [{ label: "x", value }] }],
        }),
      RangeError,
    );
  }
});

const EVENTS: TimelineSegment[] = [
  // The reader waits on the network for the first half, then is blocked.
  { task: "reader", op: "read", startMs: 0, endMs: 50 },
  { task: "reader", op: "put", startMs: 50, endMs: 90 },
  // The writer is idle, then writes.
  { task: "writer", op: "get", startMs: 0, endMs: 50 },
  { task: "writer", op: "write", startMs: 50, endMs: 90 },
  { task: "commit", op: "commit", startMs: 90, endMs: 100 },
];

/** The lanes top to bottom: their offset and their rectangles. */
function lanes(root: Element) {
  const [cells] = all(root, hasClass("concat_0_cell"));
  assert.ok(cells, "no lanes");
  return cells.children.filter((e) => e.name === "g").map((lane) => ({
    top: Number(lane.attributes.transform?.match(/,(-?[\d.]+)\)/)?.[1]),
    boxes: all(
      lane,
      (e) => e.name === "path" && e.attributes.fill !== undefined,
    )
      .map(box),
  }));
}

Deno.test("timelineChart() is a well-formed SVG with the verdict, lanes, axis and legend", async () => {
  const root = parseXml(
    await timelineChart({
      title: "Upload of 32 MiB",
      subtitle: "one & two",
      bound: "write",
      events: EVENTS,
    }),
  );
  const [title] = all(root, (e) => e.name === "title");
  assert.equal(
    unescape(title!.text),
    "Upload of 32 MiB — write-bound: the reader waited on the disk",
  );
  const shown = texts(root);
  for (
    const text of [
      "Upload of 32 MiB",
      "one & two",
      "reader",
      "writer",
      "time since the first read, ms",
      "0",
      "50",
      "100",
      // Each state with its total and its share of the upload.
      "read-wait: reader waits on the network — 50 ms (50%)",
      "put-blocked: reader waits on a full queue — 40 ms (40%)",
      "write: writer in a disk write — 40 ms (40%)",
      "get-idle: writer waits on an empty queue — 50 ms (50%)",
      "neither: CPU work (hash, copy, log)",
      "commit: fsync + rename — 10 ms",
    ]
  ) {
    assert.ok(shown.includes(text), `no "${text}" in ${shown.join("|")}`);
  }
  // The verdict, in the colour of what the reader waited on.
  const [verdict] = all(
    root,
    (e) => e.text === "write-bound: the reader waited on the disk",
  );
  assert.equal(verdict?.attributes.fill, TASK_STATES["put-blocked"].color);
  const read = parseXml(
    await timelineChart({ title: "t", bound: "read", events: EVENTS }),
  );
  assert.ok(
    texts(read).includes("read-bound: the writer waited on the network"),
  );
});

Deno.test("timelineChart() draws each state in its lane at its time, and the commit across both", async () => {
  const [reader, writer] = lanes(
    parseXml(await timelineChart({ title: "t", events: EVENTS, bins: 100 })),
  );
  const [background] = reader!.boxes;
  assert.ok(reader!.top + background!.height <= writer!.top);
  const x = (ms: number) => (ms / 100) * background!.width;
  const color = (state: keyof typeof TASK_STATES) => TASK_STATES[state].color;
  // Each lane: its background (CPU work), its two states, the commit.
  const spans = (lane: typeof reader) =>
    lane!.boxes.map((b) => [b.fill, b.x, b.x + b.width, b.height]);
  const full = background!.height;
  assert.deepEqual(spans(reader), [
    [background!.fill, 0, x(100), full],
    [color("read-wait"), 0, x(50), full],
    [color("put-blocked"), x(50), x(90), full],
    [spans(reader)[3]![0], x(90), x(100), full],
  ]);
  assert.deepEqual(spans(writer), [
    [background!.fill, 0, x(100), full],
    [color("get-idle"), 0, x(50), full],
    [color("write"), x(50), x(90), full],
    [spans(reader)[3]![0], x(90), x(100), full],
  ]);
});

Deno.test("timelineChart() stacks the shares of states within a bin", async () => {
  // 100 alternating operations of 0.01 ms: far below one pixel each.
  const events: TimelineSegment[] = [];
  for (let i = 0; i < 100; i++) {
    events.push({
      task: "reader",
      op: i % 4 === 0 ? "put" : "read",
      startMs: i * 0.01,
      endMs: (i + 1) * 0.01,
    });
  }
  const [reader, writer] = lanes(
    parseXml(await timelineChart({ title: "t", events, bins: 1 })),
  );
  const [background, ...states] = reader!.boxes;
  const heights = Object.fromEntries(states.map((b) => [b.fill, b.height]));
  assert.deepEqual(heights, {
    [TASK_STATES["read-wait"].color]: background!.height * 0.75,
    [TASK_STATES["put-blocked"].color]: background!.height * 0.25,
  });
  // The writer did nothing: its lane is all background.
  assert.equal(writer!.boxes.length, 1);
});

Deno.test("timelineChart() copes with no events and rejects a bad bin count", async () => {
  const root = parseXml(await timelineChart({ title: "empty", events: [] }));
  assert.deepEqual(lanes(root).map((lane) => lane.boxes.length), [1, 1]);
  for (const bins of [0, 1.5, NaN]) {
    await assert.rejects(
      async () => await timelineChart({ title: "t", events: [], bins }),
      RangeError,
    );
  }
});

Deno.test("laneTotals() adds up each lane's time per state", () => {
  assert.deepEqual(laneTotals(EVENTS), {
    reader: { "read-wait": 50, "put-blocked": 40 },
    writer: { "get-idle": 50, write: 40 },
  });
});

Deno.test("textWidth() measures by character, wider in bold", () => {
  // Helvetica's digits are 0.556 em, plus the 5% margin.
  assert.ok(Math.abs(textWidth("0123456789", { fontSize: 10 }) - 58.38) < 0.01);
  assert.ok(textWidth("iiii") < textWidth("MMMM"));
  assert.ok(textWidth("MiB/s", { bold: true }) > textWidth("MiB/s"));
  assert.ok(textWidth("≥ ×") > 0);
  assert.equal(textWidth(""), 0);
});
