/**
 * README's Prerequisites against `tests/setup/install_packages.sh`: a new
 * user who installs what the README names, instead of letting
 * `deno task test` do it, must get every Debian package the tests drive.
 * The README named neither slowhttptest nor nghttp2-client, which the
 * script installs and connection_limits_test and the h2c tests run, so the
 * list a user follows by hand left those tests failing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** A package the script installs, and whether without its recommends. */
interface ScriptPackage {
  name: string;
  lean: boolean;
}

/** The packages install_packages.sh checks for, as it names them. */
function scriptPackages(script: string): ScriptPackage[] {
  const packages: ScriptPackage[] = [];
  for (const line of script.split("\n")) {
    const need = /^need(_lean)? \S+ (\S+)$/.exec(line.trim());
    if (need) packages.push({ name: need[2]!, lean: need[1] !== undefined });
    const python = /\|\| missing="\$missing (\S+)"$/.exec(line.trim());
    if (python) packages.push({ name: python[1]!, lean: false });
  }
  return packages;
}

/** The `apt-get install` commands in the README's Prerequisites section. */
function readmeInstalls(readme: string): string[] {
  const start = readme.indexOf("## Prerequisites\n");
  assert.ok(start >= 0, "README has no Prerequisites section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end).replace(/\s*\n\s*/g, " ");
  const spans = section.match(/`[^`]*apt-get install[^`]*`/g) ?? [];
  // One span may hold two commands joined with &&.
  return spans.flatMap((span) => span.slice(1, -1).split("&&"))
    .map((command) => command.trim());
}

Deno.test("README's Prerequisites name every Debian package the test task installs, lean ones without recommends", async () => {
  const script = await Deno.readTextFile(
    join(ROOT, "tests/setup/install_packages.sh"),
  );
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const packages = scriptPackages(script);
  // The parse found the script's list (guards the patterns above).
  for (const name of ["chromium", "python3-httpx", "ceph-mon", "prometheus"]) {
    assert.ok(packages.some((p) => p.name === name), `${name} not parsed`);
  }
  const installs = readmeInstalls(readme);
  const unnamed = packages.filter(({ name, lean }) =>
    !installs.some((command) =>
      command.split(/\s+/).includes(name) &&
      command.includes("--no-install-recommends") === lean
    )
  ).map(({ name, lean }) => lean ? `${name} (--no-install-recommends)` : name);
  assert.deepEqual(unnamed, [], `README's apt-get lines: ${installs}`);
});

Deno.test("the test task installs every Debian package a test names as missing", async () => {
  const script = await Deno.readTextFile(
    join(ROOT, "tests/setup/install_packages.sh"),
  );
  const installed = new Set(scriptPackages(script).map(({ name }) => name));
  // .ci/run installs Node.js (nodejs, npm) before anything else.
  for (const name of ["nodejs", "npm"]) installed.add(name);
  const named = new Map<string, string>();
  for await (const entry of Deno.readDir(join(ROOT, "tests"))) {
    if (!entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(join(ROOT, "tests", entry.name));
    for (
      const [, list] of text.matchAll(/apt-get install -y ([a-z0-9 .-]+)/g)
    ) {
      for (const name of list!.trim().split(/\s+/)) named.set(name, entry.name);
    }
  }
  // The scan found the hints (guards the pattern above).
  assert.ok(named.has("curl") && named.has("httpie"), [...named.keys()].join());
  const missing = [...named].filter(([name]) =>
    !installed.has(name) &&
    // gzip and python3 are in every Debian.
    !["gzip", "python3"].includes(name)
  ).map(([name, file]) => `${name} (${file})`);
  assert.deepEqual(missing, []);
});
