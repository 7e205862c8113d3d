/**
 * Issue 8 item 10: the served `/openapi.json` passes a standard OpenAPI
 * linter, `@redocly/cli lint` (its `recommended` rules, run under Node as
 * users run it), with zero errors and no warnings but the ones listed here.
 * Needs `deno install` (the package) and Node on PATH; without them the
 * test fails, never skips.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withServedSpec } from "./fixtures/served_spec.ts";

const CLI = new URL(
  "../node_modules/@redocly/cli/bin/cli.js",
  import.meta.url,
);

/**
 * Warnings accepted, by rule and JSON pointer, and why:
 * - `info-license`: the project has chosen no license, and the document
 *   must not invent one.
 *
 * The root, the probes and the metrics (`/`, `/healthz`, `/readyz`,
 * `/metrics`) had
 * no 4xx of their own (`operation-4xx-response`): they declare the 400
 * to a malformed `Host` now, which every path answers.
 */
const ALLOWED_WARNINGS = ["info-license #/info"];

interface LintProblem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer: string }[];
}

async function redoclyLint(file: string, cwd: string): Promise<LintProblem[]> {
  try {
    await Deno.stat(CLI);
  } catch (cause) {
    throw new Error(
      `@redocly/cli is not installed (${CLI.pathname}): run \`deno install\``,
      { cause },
    );
  }
  const { stdout, stderr } = await new Deno.Command("node", {
    args: [
      CLI.pathname,
      "lint",
      "--extends=recommended",
      "--format=json",
      file,
    ],
    cwd,
    // No telemetry and no update check: tests never reach the internet.
    env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  try {
    return (JSON.parse(text) as { problems: LintProblem[] }).problems;
  } catch {
    throw new Error(
      `redocly printed no JSON report:\n${text}\n${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
}

/** Lints `file` and holds it to zero errors and `allowed` warnings. */
async function assertLintClean(
  file: string,
  dir: string,
  allowed: string[],
): Promise<void> {
  const problems = await redoclyLint(file, dir);
  const describe = (p: LintProblem) =>
    `${p.ruleId} ${p.location[0]?.pointer ?? ""}`;
  const errors = problems.filter((p) => p.severity === "error");
  assert.deepEqual(
    errors.map((p) => `${describe(p)}: ${p.message}`),
    [],
    "lint errors",
  );
  assert.deepEqual(
    problems.filter((p) => p.severity !== "error").map(describe).sort(),
    allowed,
    "lint warnings (add a new one to ALLOWED_WARNINGS only with a reason)",
  );
}

Deno.test("the served /openapi.json passes redocly lint with zero errors", async () => {
  await withServedSpec((file, dir) =>
    assertLintClean(file, dir, ALLOWED_WARNINGS)
  );
});

// A default deployment has no purge: its document must not keep the
// purge's security scheme (no-unused-components warned of it).
Deno.test("the document of a default deployment (no CACHE_ADMIN_TOKEN) passes it too", async () => {
  await withServedSpec(
    (file, dir) => assertLintClean(file, dir, ALLOWED_WARNINGS),
    { args: [] },
  );
});
