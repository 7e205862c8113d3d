/**
 * The served `/openapi.json` passes a second standard OpenAPI linter,
 * Stoplight's `spectral lint` with its `spectral:oas` ruleset, run under
 * Node as users run it: from the repository's root, with no `--ruleset`, so
 * it takes the committed `.spectral.yaml` (without one it stops with "No
 * ruleset has been found"): zero errors, and no warnings but the ones listed
 * here with a reason. Spectral checks things redocly does not (operation
 * tags declared, examples valid against their schemas, `$ref` siblings).
 * Needs `deno install` (npm:@stoplight/spectral-cli) and Node on PATH;
 * without them the test fails, never skips.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withServedSpec } from "./fixtures/served_spec.ts";
import { runTool } from "./fixtures/tool.ts";

const CLI = new URL(
  "../node_modules/@stoplight/spectral-cli/dist/index.js",
  import.meta.url,
);

/** The repository's root, where `.spectral.yaml` names the ruleset. */
const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Warnings accepted, by rule and path, and why:
 * - `info-contact`: the project names no contact, and the document must
 *   not invent one.
 */
const ALLOWED_WARNINGS = ["info-contact info"];

/** Spectral's severities: 0 error, 1 warning, 2 information, 3 hint. */
interface SpectralProblem {
  code: string;
  message: string;
  path: string[];
  severity: 0 | 1 | 2 | 3;
}

async function spectralLint(file: string): Promise<SpectralProblem[]> {
  try {
    await Deno.stat(CLI);
  } catch (cause) {
    throw new Error(
      `@stoplight/spectral-cli is not installed (${CLI.pathname}): run \`deno install\``,
      { cause },
    );
  }
  const out = await runTool(
    "node",
    [CLI.pathname, "lint", "--format", "json", file],
    { install: "Node.js on PATH", cwd: ROOT },
  );
  try {
    return JSON.parse(out.stdout) as SpectralProblem[];
  } catch {
    throw new Error(
      `spectral printed no JSON report:\n${out.stdout}\n${out.stderr}`,
    );
  }
}

Deno.test("the served /openapi.json passes spectral:oas with zero errors", async () => {
  await withServedSpec(async (file) => {
    const problems = await spectralLint(file);
    const describe = (p: SpectralProblem) => `${p.code} ${p.path.join(".")}`;
    assert.deepEqual(
      problems.filter((p) => p.severity === 0).map((p) =>
        `${describe(p)}: ${p.message}`
      ),
      [],
      "spectral errors",
    );
    assert.deepEqual(
      problems.filter((p) => p.severity !== 0).map(describe).sort(),
      ALLOWED_WARNINGS,
      "spectral warnings (add a new one to ALLOWED_WARNINGS only with a reason)",
    );
  });
});
