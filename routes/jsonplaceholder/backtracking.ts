/**
 * Which `_like` patterns could hold json-server's one thread (it tests them
 * with `new RegExp(value, "i")`, a backtracking engine, against each item's
 * field): the shapes that take such an engine time exponential in a
 * field's length, and repetitions in a row that can take the same
 * characters, which take it time polynomial in that length, the power
 * their number (`.*.*.*!` held it 7.6 s over the photos' titles).
 *
 * @module
 */

// The shapes of a pattern that make a backtracking engine (json-server's,
// V8's) take time exponential in the input: a group repeated without bound
// (`*`, `+`, `{n,}`) that itself holds a repetition or an alternation
// (`(a+)+`, `(.*)*`, `(a|aa)*`), and back-references (`\1`).
const UNBOUNDED = /^(?:[*+]|\{\d*,\d*\})/;

/**
 * Whether `pattern` has one of the shapes that can take a backtracking
 * engine exponential time ({@linkcode nestsRepetitions}) or time
 * polynomial in a field's length ({@linkcode repeatsInARow}). A plain
 * scan, not a parse: it may refuse a harmless pattern of those shapes,
 * never pass a harmful one of them.
 */
export function backtracksBadly(pattern: string): boolean {
  return nestsRepetitions(pattern) || repeatsInARow(pattern);
}

/**
 * Whether `pattern` repeats without bound a group that itself repeats or
 * alternates, or refers back to a group.
 */
function nestsRepetitions(pattern: string): boolean {
  // Per open group: whether it holds a repetition or an alternation.
  const groups: boolean[] = [false];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      if (/[1-9k]/.test(pattern[++i] ?? "")) return true;
    } else if (c === "[") {
      i = classEnd(pattern, i) - 1;
    } else if (c === "(") {
      groups.push(false);
    } else if (c === ")" && groups.length > 1) {
      const inner = groups.pop()!;
      const repeated = UNBOUNDED.test(pattern.slice(i + 1, i + 12));
      if (inner && repeated) return true;
      groups[groups.length - 1] ||= inner || repeated;
    } else if (c === "|" || UNBOUNDED.test(pattern.slice(i, i + 12))) {
      groups[groups.length - 1] = true;
    }
  }
  return false;
}

/** Where the class opening at `open` ends (past its `]`). */
function classEnd(pattern: string, open: number): number {
  // Its `*`, `+` and `|` are characters; `\]` does not end it.
  let i = open;
  while (++i < pattern.length && pattern[i] !== "]") {
    if (pattern[i] === "\\") i++;
  }
  return i + 1;
}

// A quantifier: `*`, `+`, `?`, `{n}`, `{n,}` or `{n,m}`, lazy or not.
const QUANTIFIER = /^(?:[*+?]|\{\d*,?\d*\})\??/;
// One item: an escape (`\x41`, `\u0041`, `\cA` whole), a class, or a
// character.
const ESCAPE =
  /^\\(?:x[\da-fA-F]{2}|u[\da-fA-F]{4}|u\{[\da-fA-F]+\}|c[A-Za-z]|[^])/;
// What a group opens with besides `(`: `?:`, a lookaround, a name.
const GROUP_OPENING = /^\?(?:[:=!]|<[=!]|<[^>]*>)/;
// Characters tried against two repeated items (with those of their
// sources): Latin-1 and the line breaks.
const PROBE = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));

/** What a repetition in a row leaves for the next: its items, per group. */
interface Run {
  /** The repeated items a next repetition would share the text with. */
  open: (string | undefined)[];
  /** `open` where the group (or branch) began. */
  start: (string | undefined)[];
  /** `open` at the end of each branch before this one. */
  ends: (string | undefined)[];
}

/**
 * Whether two repeated items of `pattern` follow each other, with at most
 * items that may match nothing between them, and can take the same
 * characters (`.*.*`, `\D*\D*`, `.*a?.*`, `(.*)\w+`): the engine tries each
 * way of splitting a run of such characters between them. `a+b*` and
 * `a.*b.*c` pass: nothing, or a character they must find, parts them.
 */
export function repeatsInARow(pattern: string): boolean {
  const runs: Run[] = [{ open: [], start: [], ends: [] }];
  const same = overlapping();
  for (let i = 0; i < pattern.length;) {
    const run = runs[runs.length - 1]!;
    const c = pattern[i]!;
    if (c === "(") {
      const opening = GROUP_OPENING.exec(pattern.slice(i + 1, i + 256));
      i += 1 + (opening?.[0].length ?? 0);
      runs.push({ open: run.open, start: run.open, ends: [] });
      continue;
    }
    if (c === "|") {
      run.ends = [...run.ends, ...run.open];
      run.open = run.start;
      i++;
      continue;
    }
    if (c === "^" || c === "$" || /^\\[bB]/.test(pattern.slice(i, i + 2))) {
      i += c === "\\" ? 2 : 1;
      continue;
    }
    // A group may take anything (`undefined`), and leaves open what its
    // branches left open.
    const group = c === ")" && runs.length > 1 ? runs.pop()! : undefined;
    const end = group === undefined ? itemEnd(pattern, i) : i + 1;
    const item = group === undefined ? pattern.slice(i, end) : undefined;
    const inside = group === undefined ? [] : [...group.ends, ...group.open];
    const quantifier = QUANTIFIER.exec(pattern.slice(end, end + 24))?.[0] ?? "";
    const outer = runs[runs.length - 1]!;
    if (UNBOUNDED.test(quantifier)) {
      if (outer.open.some((before) => same(before, item))) return true;
      outer.open = [item];
    } else if (/^(?:\?|\{0*\})/.test(quantifier)) {
      // It may match nothing: what was open stays open, with what a
      // group left open.
      outer.open = [...outer.open, ...inside];
    } else if (inside.length > 0 && /^\{0*[2-9]|^\{0*1\d/.test(quantifier)) {
      // A group left open, taken twice or more (`(.*){3}` is `.*.*.*`).
      return true;
    } else {
      outer.open = inside;
    }
    i = end + quantifier.length;
  }
  return false;
}

/** Where the item (a character, an escape, a class) at `i` ends. */
function itemEnd(pattern: string, i: number): number {
  if (pattern[i] === "[") return classEnd(pattern, i);
  if (pattern[i] !== "\\") return i + 1;
  return i + (ESCAPE.exec(pattern.slice(i, i + 16))?.[0].length ?? 1);
}

/**
 * A test of whether two items (a character, an escape, a class, or
 * `undefined` for a group) can match one character, with "i" as
 * json-server compiles them; remembered per pair for one pattern.
 */
function overlapping(): (
  a: string | undefined,
  b: string | undefined,
) => boolean {
  const seen = new Map<string, boolean>();
  return (a, b) => {
    if (a === undefined || b === undefined) return true;
    const key = `${a}\u0000${b}`;
    let found = seen.get(key);
    if (found === undefined) {
      found = canShare(a, b);
      seen.set(key, found);
    }
    return found;
  };
}

/** Whether items `a` and `b` match a common character. */
function canShare(a: string, b: string): boolean {
  let one: RegExp;
  let other: RegExp;
  try {
    one = new RegExp(`^(?:${a})$`, "i");
    other = new RegExp(`^(?:${b})$`, "i");
  } catch {
    return true;
  }
  return [...PROBE, ...a, ...b].some((c) => one.test(c) && other.test(c));
}
