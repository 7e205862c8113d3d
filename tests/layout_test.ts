/**
 * The layout's rules, checked on the import statements of the sources:
 * imports run entry (main.ts, serve.ts) -> routes/ -> services/; inside
 * services/ the capability folders import only themselves and the shared
 * folders (services/http/, services/ops/, services/redis/); the shared
 * folders import no capability folder. Files under
 * routes/ and services/, and under bench/ and tests/, stay short, and each
 * has a `@module` doc.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { allSources, ENTRIES, ROOT, sources } from "./fixtures/sources.ts";

const CAPABILITIES = ["cache", "upstream", "uploads", "storage", "server"];
const SHARED = ["http", "ops", "redis"];
const MAX_LINES = 400;
/**
 * Widest comment line: `deno fmt` wraps code at 80 but leaves comments as
 * written, so a file near {@linkcode MAX_LINES} could hide lines in long
 * ones. A line naming a URL may run past it.
 */
const MAX_COMMENT_WIDTH = 100;

/**
 * Imports that cross the rules today, each with the step that removes it.
 * An entry that no longer occurs fails the test, so the list only shrinks.
 */
const ALLOWED_CROSSINGS: Record<string, string> = {};

/** Files allowed past MAX_LINES for now, with the step that splits them. */
const LONG_FILES: Record<string, string> = {};

/**
 * The relative specifiers of a module's static imports and re-exports, and
 * of its dynamic imports. Only statements at the start of a line count, so
 * the `import` lines of doc examples (` * import ...`) are left out.
 */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  const statement =
    /^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^import\s*["']([^"']+)["']/gm;
  for (const m of text.matchAll(statement)) found.push((m[1] ?? m[2])!);
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push(m[1]!);
  }
  return found.filter((s) => s.startsWith("./") || s.startsWith("../"));
}

/** Where a file sits in the layout: entry, routes, a services folder. */
function areaOf(path: string): string {
  if (ENTRIES.includes(path)) return "entry";
  const [top, folder] = path.split("/");
  if (top === "routes") return "routes";
  if (top === "services") return `services/${folder}`;
  return "other";
}

/** Why `from` may not import `to`, or `undefined` when it may. */
function violation(from: string, to: string): string | undefined {
  const a = areaOf(from);
  const b = areaOf(to);
  if (a === "entry") return undefined;
  if (b === "entry") return "nothing imports an entry module";
  if (a === "routes") return undefined;
  // services/: never routes; the shared folders import only each other;
  // a capability imports itself and the shared folders.
  if (b === "routes") return "services never import routes";
  if (b === "other") return to === "deno.json" ? undefined : "outside the tree";
  const folder = b.slice("services/".length);
  if (SHARED.includes(folder)) return undefined;
  if (a === b) return undefined;
  return SHARED.includes(a.slice("services/".length))
    ? "the shared folders import no capability folder"
    : "capability folders do not import each other";
}

Deno.test("importsOf reads static, re-export and dynamic imports, not doc examples", () => {
  const text = [
    "/**",
    ' * import { x } from "./doc_example.ts";',
    " */",
    'import { a } from "./a.ts";',
    "import {",
    "  b,",
    '} from "../b.ts";',
    'import type { C } from "./c.ts";',
    'export { d } from "./d.ts";',
    'import "./side_effect.ts";',
    'import { npm } from "prom-client";',
    'const e = await import("./e.ts");',
  ].join("\n");
  assert.deepEqual(importsOf(text), [
    "./a.ts",
    "../b.ts",
    "./c.ts",
    "./d.ts",
    "./side_effect.ts",
    "./e.ts",
  ]);
});

Deno.test("every services file lives in a capability or shared folder", async () => {
  const known = [...CAPABILITIES, ...SHARED];
  const stray = (await sources("services")).filter((path) => {
    const parts = path.split("/");
    return parts.length !== 3 || !known.includes(parts[1]!);
  });
  assert.deepEqual(stray, []);
});

Deno.test("imports run entry -> routes -> services; capabilities meet only in routes", async () => {
  const found: string[] = [];
  const crossings = new Set<string>();
  for (const path of await allSources()) {
    const text = await Deno.readTextFile(join(ROOT, path));
    for (const specifier of importsOf(text)) {
      const to = relative(ROOT, join(ROOT, dirname(path), specifier));
      const why = violation(path, to);
      if (why === undefined) continue;
      const edge = `${path} -> ${to}`;
      if (edge in ALLOWED_CROSSINGS) crossings.add(edge);
      else found.push(`${edge}: ${why}`);
    }
  }
  assert.deepEqual(found, []);
  // A crossing that went away leaves the list too.
  assert.deepEqual(
    [...crossings].sort(),
    Object.keys(ALLOWED_CROSSINGS).sort(),
  );
});

/** Every module: the entries, routes/, services/, bench/, tests/, deploy/. */
async function everyModule(): Promise<string[]> {
  return [
    ...await allSources(),
    ...await sources("bench"),
    ...await sources("tests"),
    ...await sources("deploy"),
  ];
}

/** The number of lines of the file at `path` (from the root). */
async function linesOf(path: string): Promise<number> {
  const text = await Deno.readTextFile(join(ROOT, path));
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

Deno.test(`files under routes/ and services/ stay under ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  const listedLong = new Set<string>();
  for (const path of await allSources()) {
    if (ENTRIES.includes(path)) continue;
    const lines = await linesOf(path);
    if (lines < MAX_LINES) continue;
    if (path in LONG_FILES) listedLong.add(path);
    else long.push(`${path}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
  // A listed file that got short leaves the list too.
  assert.deepEqual([...listedLong].sort(), Object.keys(LONG_FILES).sort());
});

Deno.test(`files under bench/ and tests/ stay under ${MAX_LINES} lines too`, async () => {
  const long: string[] = [];
  for (const path of [...await sources("bench"), ...await sources("tests")]) {
    const lines = await linesOf(path);
    if (lines >= MAX_LINES) long.push(`${path}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
});

Deno.test("every module, the entries, routes/, services/, bench/, tests/ and deploy/, has a @module doc", async () => {
  const missing: string[] = [];
  for (const path of await everyModule()) {
    const text = await Deno.readTextFile(join(ROOT, path));
    if (!/^\/\*\*[\s\S]*?@module[\s\S]*?\*\//.test(text)) missing.push(path);
  }
  assert.deepEqual(missing, []);
});

/** The comment lines of `text` wider than {@linkcode MAX_COMMENT_WIDTH}. */
export function wideComments(text: string): number[] {
  const wide: number[] = [];
  text.split("\n").forEach((line, i) => {
    const comment = /^\s*(?:\/\*\*|\*|\/\/)/.test(line);
    if (
      comment && line.length > MAX_COMMENT_WIDTH && !/https?:\/\//.test(line)
    ) {
      wide.push(i + 1);
    }
  });
  return wide;
}

Deno.test(`comment lines stay within ${MAX_COMMENT_WIDTH} characters`, async () => {
  assert.deepEqual(
    wideComments(`/** ${"x".repeat(97)} */\nconst s = "${"y".repeat(120)}";`),
    [1],
  );
  const wide: string[] = [];
  for (const path of await everyModule()) {
    const text = await Deno.readTextFile(join(ROOT, path));
    for (const line of wideComments(text)) wide.push(`${path}:${line}`);
  }
  assert.deepEqual(wide, []);
});

Deno.test("README's Architecture names every module of routes/ and services/ in its folder's row", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const block = readme.split("\n## Architecture\n")[1]!.split("```")[1]!;
  const rows = new Map<string, string>();
  for (const line of block.split("\n")) {
    const [folder = "", ...text] = line.split(/\s+/);
    rows.set(folder, text.join(" "));
  }
  const unnamed: string[] = [];
  for (const path of await allSources()) {
    if (ENTRIES.includes(path)) continue;
    const folder = `${dirname(path)}/`;
    const stem = path.slice(folder.length, -".ts".length);
    const row = rows.get(folder) ?? "";
    if (!new RegExp(`(?<![\\w/])${stem}(?:\\.ts)?(?![\\w/])`).test(row)) {
      unnamed.push(path);
    }
  }
  assert.deepEqual(unnamed, []);
});
