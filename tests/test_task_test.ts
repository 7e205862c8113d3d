/**
 * The test task runs `deno test --no-check` because `deno task check` has
 * type-checked every file just before (a second type check of the test
 * files cost 62 s of CI time at load 11). That holds only while the test
 * task runs the check first and the check's `deno check` takes the whole
 * workspace, tests/ and bench/ included: this keeps the three together.
 *
 * @module
 */

import assert from "node:assert/strict";

interface DenoJson {
  tasks: Record<string, { command: string }>;
  exclude?: string[];
  check?: { exclude?: string[] };
}

const config: DenoJson = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
);

Deno.test("deno test skips its type check only after deno task check, whose deno check takes every file, tests/ and bench/ included", () => {
  const test = config.tasks.test!.command;
  const check = config.tasks.check!.command;
  const run = test.indexOf("deno test ");
  assert.ok(run > 0, test);
  if (/--no-check/.test(test.slice(run))) {
    const checked = test.indexOf("deno task check");
    assert.ok(checked >= 0 && checked < run, test);
  }
  // `deno check` alone: no path narrows it to part of the workspace.
  assert.match(check, /(^|&& )deno check( &&|$)/, check);
  const excluded = [...config.exclude ?? [], ...config.check?.exclude ?? []];
  for (const folder of ["tests/", "bench/", "tests/fixtures/"]) {
    assert.ok(
      !excluded.some((e) => folder.startsWith(e.replace(/\*.*$/, ""))),
      `${folder} excluded from deno check: ${excluded}`,
    );
  }
});
