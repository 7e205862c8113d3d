/**
 * What the compiled executable embeds from node_modules (`deno task compile`
 * runs deploy/compile.ts): every package main.ts's module graph needs at run
 * time, and none of the tests' and the bench's tools. An exclude that hits a
 * runtime package would break the executable only when that package is first
 * loaded, so the closure is recomputed here from deno.lock's "npm" section,
 * independently of the script's own reading of `deno info`, and then a real
 * `deno compile` (on Deno's own binary as the runtime, DENORT_BIN, so nothing
 * is downloaded) is checked for what it embedded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { excludeFlags, type GraphInfo } from "../deploy/compile.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The npm imports the service is known to make (deno.json "imports"). */
const KNOWN_IMPORTS = [
  "zod",
  "prom-client",
  "lru-cache",
  "swagger-ui-dist",
  "redis",
  "content-disposition",
  "aws4fetch",
  "@opentelemetry/api",
  "@fastify/busboy",
];

/** Embedded files above this fail the size test (27 MB when written). */
const MAX_EMBEDDED_MB = 40;

type Lock = {
  specifiers: Record<string, string>;
  npm: Record<
    string,
    { dependencies?: string[]; optionalDependencies?: string[] }
  >;
};

async function graphInfo(): Promise<GraphInfo> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** `name@version` of a lock key (`redis@5.12.1_@opentelemetry+api@1.9.0`). */
function nameVersion(key: string): string {
  return key.replace(/^(@?[^@]+@[^_]+)_.*$/, "$1");
}

/** The package name of a lock key or a `name@version`. */
function nameOf(key: string): string {
  return /^(@?[^@]+)@/.exec(key)![1]!;
}

/** The lock key a dependency entry means: a key, `name@version` + peers, or a lone name. */
function lockKey(lock: Lock, dependency: string): string {
  if (lock.npm[dependency]) return dependency;
  const lone = !dependency.slice(1).includes("@");
  const keys = Object.keys(lock.npm).filter((key) =>
    lone ? nameOf(key) === dependency : key.startsWith(`${dependency}_`)
  );
  assert.equal(keys.length, 1, `deno.lock: ${dependency} is ${keys}`);
  return keys[0]!;
}

/** The `name@version`s main.ts needs at run time, by deno.lock. */
function lockClosure(lock: Lock, info: GraphInfo): Set<string> {
  const roots = new Set<string>();
  for (const module of info.modules) {
    if (module.kind !== "npm") continue;
    const match = /^npm:\/?((?:@[^/]+\/)?[^@/]+)@([^/]+)/.exec(
      module.specifier,
    );
    assert.ok(match, module.specifier);
    const resolved = lock.specifiers[`npm:${match[1]}@${match[2]}`];
    assert.ok(resolved, `deno.lock has no specifier for ${module.specifier}`);
    roots.add(`${match[1]}@${resolved}`);
  }
  const names = [...roots].map(nameOf);
  for (const name of KNOWN_IMPORTS) {
    assert.ok(names.includes(name), `${name} in ${names}`);
  }
  const reached = new Set<string>();
  const pending = [...roots];
  for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
    if (reached.has(key)) continue;
    reached.add(key);
    const entry = lock.npm[key];
    assert.ok(entry, `deno.lock has no npm entry ${key}`);
    const deps = [
      ...entry.dependencies ?? [],
      ...entry.optionalDependencies ?? [],
    ];
    pending.push(...deps.map((dependency) => lockKey(lock, dependency)));
  }
  return new Set([...reached].map(nameVersion));
}

/** `name@version` of a node_modules/.deno folder (`@redis+client@5.12.1_1`). */
function folderPackage(folder: string): string {
  const pkg = folder.replace(/_\d+$/, "");
  return pkg.startsWith("@") ? pkg.replace("+", "/") : pkg;
}

async function closureAndExcludes(): Promise<
  { closure: Set<string>; excluded: Set<string> }
> {
  const info = await graphInfo();
  const lock: Lock = JSON.parse(
    await Deno.readTextFile(join(ROOT, "deno.lock")),
  );
  const closure = lockClosure(lock, info);
  const excluded = new Set<string>();
  for (const flag of excludeFlags(info)) {
    if (flag.endsWith("/node_modules/.bin")) continue;
    const folder = /\/node_modules\/\.deno\/([^/]+)\/node_modules\/[^/]/.exec(
      flag,
    )?.[1];
    assert.ok(folder, `an exclude is a package folder: ${flag}`);
    excluded.add(folder);
  }
  return { closure, excluded };
}

Deno.test("compile excludes: no package main.ts needs (by deno.lock), every installed one it does not", async () => {
  const { closure, excluded } = await closureAndExcludes();
  for (const folder of excluded) {
    assert.ok(
      !closure.has(folderPackage(folder)),
      `${folder} is needed at run time`,
    );
  }
  const installed: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "node_modules", ".deno"))) {
    if (entry.isDirectory && entry.name !== "node_modules") {
      installed.push(entry.name);
    }
  }
  for (const folder of installed) {
    const needed = closure.has(folderPackage(folder));
    assert.equal(excluded.has(folder), !needed, `${folder}: needed ${needed}`);
  }
  for (const pkg of closure) {
    const folder = pkg.replace("/", "+");
    assert.ok(installed.includes(folder), `${pkg} is installed (deno install)`);
  }
  // The closure is small and the tools are many: a guard on the reading itself.
  assert.ok(
    closure.size >= KNOWN_IMPORTS.length && closure.size < 60,
    `${closure.size}`,
  );
  assert.ok(excluded.size > 10 * closure.size, `${excluded.size}`);
});

/** README's Deployment section, its line breaks and indents as single spaces. */
async function readmeText(): Promise<string> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  return readme.replace(/\s+/g, " ");
}

Deno.test("README's count of the npm packages main.ts reaches is deno.lock's", async () => {
  const { closure } = await closureAndExcludes();
  const said = /graph reaches \((\d+), as `deno\.lock` resolves them\)/.exec(
    await readmeText(),
  );
  assert.ok(said, "README says how many packages main.ts's graph reaches");
  assert.equal(Number(said[1]), closure.size, [...closure].join(" "));
});

/** The `.deno` folders `deno compile` lists under "Embedded Files", with their bytes. */
function embeddedFolders(output: string): Map<string, number> {
  const lines = output.split("\n");
  const at = lines.findIndex((line) => /[├└]─[─┬] \.deno[ /]/.test(line));
  assert.ok(at >= 0, output);
  const column = lines[at]!.indexOf(".deno");
  const units: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 };
  const folders = new Map<string, number>();
  for (const line of lines.slice(at + 1)) {
    const name = /^[│ ]*[├└]─[─┬] /.exec(line)?.[0].length;
    if (name === undefined || name <= column) break;
    if (name !== column + 2) continue;
    const match = /^([^/ ]+)\S* \(([\d.]+)(B|KB|MB|GB)/.exec(line.slice(name));
    // Deno's own files (.deno.lock, .setup-cache.bin) and the hoisted links.
    if (!match || match[1]!.startsWith(".") || match[1] === "node_modules") {
      continue;
    }
    folders.set(match[1]!, Number(match[2]) * units[match[3]!]!);
  }
  return folders;
}

/** The compile task's command as words, with its --output moved to `output`. */
async function compileCommand(output: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const words: string[] = config.tasks.compile.command.split(/\s+/);
  const at = words.indexOf("--output");
  assert.ok(at > 0 && words[0] === "deno", words.join(" "));
  words.splice(at + 1, 1, output);
  return words;
}

Deno.test("compile: the executable embeds every runtime package and no tool of the tests", async () => {
  const { closure } = await closureAndExcludes();
  await withTempDir(async (dir) => {
    const [, ...args] = await compileCommand(join(dir, "async-api"));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      env: { NO_COLOR: "1", DENORT_BIN: Deno.execPath() },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    assert.equal(code, 0, output);
    const files = /^Files: ([\d.]+)MB$/m.exec(output);
    assert.ok(files && Number(files[1]) < MAX_EMBEDDED_MB, output);
    // README's figure is this build's, to the megabyte.
    const said = /so (\d+) MB are embedded/.exec(await readmeText());
    assert.equal(Number(said?.[1]), Math.round(Number(files[1])), files[0]);
    for (const [folder, bytes] of embeddedFolders(output)) {
      const needed = closure.has(folderPackage(folder));
      // A left-out package keeps its folder: `.initialized` (12 B) and symlinks.
      if (needed) assert.ok(bytes > 1000, `${folder} embedded: ${bytes} B`);
      else assert.ok(bytes < 1000, `${folder} left out: ${bytes} B`);
    }
    const embedded = [...embeddedFolders(output).keys()].map(folderPackage);
    for (const pkg of closure) {
      assert.ok(embedded.includes(pkg), `${pkg} embedded`);
    }
  }, "async-api-compile-");
});
