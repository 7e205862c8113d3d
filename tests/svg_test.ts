/**
 * Tests of the benchmark chart generator: well-formed SVG, bars that scale
 * with their values, and the reader/writer lanes of the upload timeline.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  barChart,
  escapeXml,
  laneTotals,
  niceTicks,
  timelineChart,
  type TimelineSegment,
} from "../bench/svg.ts";

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
const numberOf = (e: Element, attribute: string) =>
  Number(e.attributes[attribute]);
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

Deno.test("escapeXml() escapes the five special characters", () => {
  assert.deepEqual(
    escapeXml(`<a href="x">Tom & 'Jerry'</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;",
  );
});

Deno.test("niceTicks() steps by 1, 2 or 5 times a power of ten", () => {
  assert.deepEqual(niceTicks(176), [0, 20, 40, 60, 80, 100, 120, 140, 160]);
  assert.deepEqual(niceTicks(3994), [
    0,
    500,
    1000,
    1500,
    2000,
    2500,
    3000,
    3500,
  ]);
  assert.deepEqual(niceTicks(1), [
    0,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    1,
  ]);
  assert.deepEqual(niceTicks(1, 4), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0), [0]);
  assert.deepEqual(niceTicks(NaN), [0]);
});

Deno.test("barChart() is a well-formed SVG document", () => {
  const svg = barChart({
    title: "Throughput <vs> baselines & more",
    subtitle: "line one\nline two",
    groups: [{
      title: "Cached GET",
      unit: "req/s",
      bars: [
        { label: "service", value: 9_000, note: "0.9 × minimal" },
        { label: "minimal", value: 10_000, baseline: true },
      ],
      target: { value: 8_500, label: "target ≥ 0.85" },
    }],
  });
  const root = parseXml(svg);
  assert.deepEqual(root.name, "svg");
  assert.deepEqual(root.attributes.xmlns, "http://www.w3.org/2000/svg");
  const title = all(root, (e) => e.name === "title")[0]!;
  assert.deepEqual(unescape(title.text), "Throughput <vs> baselines & more");
  const texts = all(root, (e) => e.name === "text").map((e) =>
    unescape(e.text)
  );
  assert.ok(texts.includes("line one") && texts.includes("line two"));
  assert.ok(texts.includes("9,000 req/s · 0.9 × minimal"), texts.join("|"));
  assert.ok(texts.includes("10,000 req/s"));
  assert.ok(texts.includes("target ≥ 0.85"));
  // The document grows to fit what it holds.
  const height = numberOf(root, "height");
  const bottom = Math.max(
    ...all(root, (e) => e.name === "text").map((e) => numberOf(e, "y")),
  );
  assert.ok(bottom < height, `${bottom} >= ${height}`);
});

Deno.test("barChart() scales each group to its own largest value", () => {
  const svg = barChart({
    title: "t",
    groups: [
      {
        title: "requests",
        unit: "req/s",
        bars: [
          { label: "a", value: 50_000 },
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
        target: { value: 300, label: "target" },
      },
    ],
  });
  const bars = all(parseXml(svg), hasClass("bar"));
  const widths = bars.map((e) => numberOf(e, "width"));
  assert.deepEqual(widths.length, 5);
  const full = widths[1]!;
  assert.ok(full > 100);
  // Within a group, lengths are proportional to values...
  assert.deepEqual(widths[0], full / 2);
  assert.deepEqual(widths[2], full / 4);
  assert.deepEqual(widths[4], 0);
  // ...and each group's largest bar spans the same full width.
  assert.deepEqual(widths[3], full);
  // Baselines are marked (and drawn in another colour).
  assert.deepEqual(bars.map((e) => hasClass("baseline")(e)), [
    false,
    true,
    false,
    true,
    true,
  ]);
  assert.ok(bars[0]!.attributes.fill !== bars[1]!.attributes.fill);
  // The target line sits at its value on the group's scale.
  const [line] = all(parseXml(svg), hasClass("target"));
  const x0 = numberOf(bars[3]!, "x");
  assert.deepEqual(numberOf(line!, "x1"), x0 + full * 0.75);
});

Deno.test("barChart() rejects negative and non-finite values", () => {
  for (const value of [-1, NaN, Infinity]) {
    assert.throws(
      () =>
        barChart({
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

function lanes(svg: string) {
  const root = parseXml(svg);
  return all(root, hasClass("lane")).map((lane) => {
    const [background] = all(lane, hasClass("lane-background"));
    return {
      task: lane.attributes["data-task"],
      top: numberOf(background!, "y"),
      bottom: numberOf(background!, "y") + numberOf(background!, "height"),
      left: numberOf(background!, "x"),
      width: numberOf(background!, "width"),
      segments: all(
        lane,
        (e) => e.name === "rect" && !hasClass("lane-background")(e),
      ),
    };
  });
}

Deno.test("timelineChart() is a well-formed SVG with the verdict in its title", () => {
  const svg = timelineChart({
    title: "Upload of 32 MiB",
    subtitle: "one & two",
    bound: "write",
    events: EVENTS,
  });
  const root = parseXml(svg);
  const title = unescape(all(root, (e) => e.name === "title")[0]!.text);
  assert.deepEqual(
    title,
    "Upload of 32 MiB — write-bound: the reader waited on the disk",
  );
  const texts = all(root, (e) => e.name === "text").map((e) =>
    unescape(e.text)
  );
  // Drawn as the title and, below it, the verdict.
  assert.ok(texts.includes("Upload of 32 MiB"));
  const [verdict] = all(root, hasClass("verdict"));
  assert.equal(
    unescape(verdict!.text),
    "write-bound: the reader waited on the disk",
  );
  assert.ok(texts.includes("one & two"));
  assert.ok(
    parseXml(timelineChart({ title: "t", bound: "read", events: EVENTS }))
      .children.some((e) =>
        e.name === "title" &&
        e.text.endsWith("the writer waited on the network")
      ),
  );
});

Deno.test("timelineChart() draws a reader lane above a writer lane", () => {
  const svg = timelineChart({ title: "t", events: EVENTS, binPx: 2 });
  const [reader, writer] = lanes(svg);
  assert.deepEqual([reader?.task, writer?.task], ["reader", "writer"]);
  assert.ok(reader!.bottom <= writer!.top);

  const x = (ms: number) => reader!.left + (ms / 100) * reader!.width;
  const span = (segments: Array<Record<string, string>>) => [
    Math.min(...segments.map((a) => Number(a.x))),
    Math.max(...segments.map((a) => Number(a.x) + Number(a.width))),
  ];
  const of = (lane: typeof reader, state: string) =>
    lane!.segments.filter(hasClass(state)).map((e) => e.attributes);

  // Each lane holds only its own states, inside its own band...
  assert.deepEqual(
    new Set(reader!.segments.map((e) => e.attributes.class)),
    new Set(["read-wait", "put-blocked"]),
  );
  assert.deepEqual(
    new Set(writer!.segments.map((e) => e.attributes.class)),
    new Set(["get-idle", "write"]),
  );
  for (const lane of [reader!, writer!]) {
    for (const { attributes: a } of lane.segments) {
      assert.ok(
        Number(a.y) >= lane.top &&
          Number(a.y) + Number(a.height) <= lane.bottom + 1e-9,
      );
    }
  }
  // ...at the right times, to within a bin.
  const near = (a: number, b: number) => Math.abs(a - b) <= 2.01;
  const [r0, r1] = span(of(reader, "read-wait"));
  assert.ok(near(r0!, x(0)) && near(r1!, x(50)), `${r0} ${r1}`);
  const [p0, p1] = span(of(reader, "put-blocked"));
  assert.ok(near(p0!, x(50)) && near(p1!, x(90)), `${p0} ${p1}`);
  const [w0, w1] = span(of(writer, "write"));
  assert.ok(near(w0!, x(50)) && near(w1!, x(90)), `${w0} ${w1}`);
  // A whole bin in one state is drawn the full height of the lane.
  assert.ok(
    of(reader, "read-wait").some((a) =>
      Number(a.height) === reader!.bottom - reader!.top
    ),
  );
  // Merged: one solid block per state, not one rectangle per bin.
  assert.ok(reader!.segments.length <= 6, `${reader!.segments.length} rects`);

  // The commit spans both lanes at its time.
  const [commit] = all(parseXml(svg), hasClass("commit"));
  assert.ok(near(numberOf(commit!, "x"), x(90)));
  assert.ok(numberOf(commit!, "y") <= reader!.top);
  assert.ok(
    numberOf(commit!, "y") + numberOf(commit!, "height") >= writer!.bottom,
  );
});

Deno.test("timelineChart() stacks the shares of states within a bin", () => {
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
  const [reader] = lanes(timelineChart({ title: "t", events, binPx: 800 }));
  const height = reader!.bottom - reader!.top;
  const heights = Object.fromEntries(
    reader!.segments.map((e) => [e.attributes.class, numberOf(e, "height")]),
  );
  assert.deepEqual(heights["read-wait"], height * 0.75);
  assert.deepEqual(heights["put-blocked"], height * 0.25);
});

Deno.test("timelineChart() has an axis in ms and a legend of every state", () => {
  const svg = timelineChart({ title: "t", events: EVENTS });
  const root = parseXml(svg);
  const texts = all(root, (e) => e.name === "text").map((e) =>
    unescape(e.text)
  );
  for (const tick of ["0", "20", "40", "60", "80", "100"]) {
    assert.ok(texts.includes(tick), `no tick ${tick}`);
  }
  assert.ok(texts.some((t) => t.includes("ms")));
  for (const state of ["read-wait", "put-blocked", "write", "get-idle"]) {
    assert.ok(
      texts.some((t) => t.startsWith(`${state}:`)),
      `no legend ${state}`,
    );
  }
  assert.deepEqual(all(root, hasClass("axis")).length, 1);
  assert.ok(
    texts.includes("reader: read-wait 50 ms (50%) · put-blocked 40 ms (40%)"),
    texts.join("|"),
  );
});

Deno.test("timelineChart() copes with no events", () => {
  const root = parseXml(timelineChart({ title: "empty", events: [] }));
  assert.deepEqual(all(root, hasClass("lane")).length, 2);
});

Deno.test("laneTotals() adds up each lane's time per state", () => {
  assert.deepEqual(laneTotals(EVENTS), {
    reader: { "read-wait": 50, "put-blocked": 40 },
    writer: { "get-idle": 50, write: 40 },
  });
});
