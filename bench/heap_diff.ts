/**
 * What grew between two heap snapshots of one process (bench/SOAK.md;
 * bench/heap_inspect.ts takes them): the node kinds (type and constructor)
 * whose count grew most, with their bytes, then the strings whose shape grew
 * most (digits and hex runs folded, so `/nope-1`, `/nope-2` count as one
 * shape: request paths, keys and ids kept by something show up here).
 * With `--retainers PREFIX`, the first strings of the second snapshot that
 * start with PREFIX are shown with their retainer chains instead: what
 * keeps them. Node ids are not compared: V8 reuses them for objects made
 * at addresses freed since the first snapshot.
 *
 * ```sh
 * deno run -A --v8-flags=--max-old-space-size=4096 bench/heap_diff.ts a.heapsnapshot b.heapsnapshot
 * deno run -A bench/heap_diff.ts b.heapsnapshot --retainers /nope-
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();
/** A line to stdout (a tool's output, not a log). */
const print = (line: string) =>
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
/** A line to stderr. */
const printError = (line: string) =>
  Deno.stderr.writeSync(encoder.encode(line + "\n"));

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot with its field offsets and each node's first edge. */
class Heap {
  readonly s: Snapshot;
  readonly nodeWidth: number;
  readonly edgeWidth: number;
  readonly count: number;
  readonly firstEdge: Int32Array;

  constructor(s: Snapshot) {
    this.s = s;
    this.nodeWidth = s.snapshot.meta.node_fields.length;
    this.edgeWidth = s.snapshot.meta.edge_fields.length;
    this.count = s.nodes.length / this.nodeWidth;
    this.firstEdge = new Int32Array(this.count + 1);
    const edgeCount = this.#field("edge_count");
    for (let i = 0, e = 0; i < this.count; i++) {
      this.firstEdge[i] = e;
      e += this.s.nodes[i * this.nodeWidth + edgeCount]! * this.edgeWidth;
    }
    this.firstEdge[this.count] = s.edges.length;
  }

  #field(name: string): number {
    return this.s.snapshot.meta.node_fields.indexOf(name);
  }

  type(i: number): string {
    const t = this.s.nodes[i * this.nodeWidth + this.#field("type")]!;
    return this.s.snapshot.meta.node_types[0][t]!;
  }

  name(i: number): string {
    const n = this.s.nodes[i * this.nodeWidth + this.#field("name")]!;
    return String(this.s.strings[n]);
  }

  size(i: number): number {
    return this.s.nodes[i * this.nodeWidth + this.#field("self_size")]!;
  }

  /** `type:constructor`, with V8's `@id` suffixes dropped. */
  label(i: number): string {
    const type = this.type(i);
    const named = ["object", "closure", "native", "hidden"].includes(type);
    const name = named ? this.name(i).replace(/ @\d+$/, "") : "";
    return `${type}:${name.slice(0, 60)}`;
  }

  /** For each node, its first strong retainer and that edge's name. */
  retainers(): { by: Int32Array; edge: string[] } {
    const by = new Int32Array(this.count).fill(-1);
    const edge: string[] = new Array(this.count);
    const fields = this.s.snapshot.meta.edge_fields;
    const [typeAt, nameAt, toAt] = ["type", "name_or_index", "to_node"]
      .map((f) => fields.indexOf(f)) as [number, number, number];
    const types = this.s.snapshot.meta.edge_types[0];
    for (let i = 0; i < this.count; i++) {
      for (
        let e = this.firstEdge[i]!;
        e < this.firstEdge[i + 1]!;
        e += this.edgeWidth
      ) {
        const to = this.s.edges[e + toAt]! / this.nodeWidth;
        const type = types[this.s.edges[e + typeAt]!]!;
        if (type === "weak" || by[to] !== -1) continue;
        by[to] = i;
        const n = this.s.edges[e + nameAt]!;
        edge[to] = ["element", "hidden"].includes(type)
          ? `[${n}]`
          : String(this.s.strings[n]).slice(0, 40);
      }
    }
    return { by, edge };
  }
}

type Tally = Map<string, { count: number; bytes: number }>;

function tally(heap: Heap, keyOf: (i: number) => string | undefined): Tally {
  const out: Tally = new Map();
  for (let i = 0; i < heap.count; i++) {
    const key = keyOf(i);
    if (key === undefined) continue;
    const row = out.get(key) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += heap.size(i);
    out.set(key, row);
  }
  return out;
}

const isString = (heap: Heap, i: number) => heap.type(i).includes("string");

/** A string's shape: its start, digits and hex runs folded. */
function shape(text: string): string {
  return text.slice(0, 40).replace(/[0-9a-f]{8,}/g, "#").replace(/\d+/g, "N")
    .replace(/\s+/g, " ");
}

function printGrowth(title: string, a: Tally, b: Tally, rows = 25): void {
  print(`\n${title}\ncount A\tcount B\tbytes B-A\tkey`);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const grown = keys.map((key) => {
    const x = a.get(key) ?? { count: 0, bytes: 0 };
    const y = b.get(key) ?? { count: 0, bytes: 0 };
    return { key, x, y, more: y.count - x.count };
  }).sort((p, q) => q.more - p.more);
  for (const { key, x, y } of grown.slice(0, rows)) {
    print(`${x.count}\t${y.count}\t${y.bytes - x.bytes}\t${key}`);
  }
}

function printRetainers(heap: Heap, prefix: string, shown = 3): void {
  const { by, edge } = heap.retainers();
  let left = shown;
  for (let i = 0; i < heap.count && left > 0; i++) {
    if (!isString(heap, i) || !heap.name(i).startsWith(prefix)) continue;
    left--;
    print(`\n${heap.name(i).slice(0, 60)}`);
    for (let at = i, depth = 1; by[at] !== -1 && depth <= 12; depth++) {
      print(`${"  ".repeat(depth)}${edge[at]} <- ${heap.label(by[at]!)}`);
      at = by[at]!;
    }
  }
}

async function load(path: string): Promise<Heap> {
  return new Heap(JSON.parse(await Deno.readTextFile(path)));
}

if (import.meta.main) {
  const [first, second, third] = Deno.args;
  if (second === "--retainers" && first && third) {
    printRetainers(await load(first), third);
  } else if (first && second) {
    const a = await load(first);
    const b = await load(second);
    const kinds = (h: Heap) => tally(h, (i) => h.label(i));
    printGrowth("node kinds", kinds(a), kinds(b));
    const strings = (h: Heap) =>
      tally(h, (i) => isString(h, i) ? shape(h.name(i)) : undefined);
    printGrowth("string shapes", strings(a), strings(b));
  } else {
    printError(
      "usage: heap_diff.ts A B | heap_diff.ts B --retainers PREFIX",
    );
    Deno.exitCode = 2;
  }
}
