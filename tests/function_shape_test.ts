/**
 * Functions stay short enough to read and take no boolean flag parameters,
 * in the entries, `routes/` and `services/`, and in `bench/` and
 * `tests/fixtures/` (save the few listed): a function (declaration,
 * expression, arrow, method) longer than {@linkcode MAX_FUNCTION_LINES}
 * lines, or a parameter typed `boolean` (or defaulting to `true`/`false`),
 * fails. The sources are read with Deno's own parser, through a lint plugin
 * run by `Deno.lint.runPlugin`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { allSources, ROOT, sources } from "./fixtures/sources.ts";

const MAX_FUNCTION_LINES = 60;

/**
 * Functions of `bench/` that break a rule today, by `path name`, each with
 * why it stays. An entry that no longer occurs fails the test, so the list
 * only shrinks.
 */
const KNOWN_BENCH: Record<string, string> = {
  "bench/redis_bench.ts benchRedisTier":
    "runs only under deno task bench (wrk, redis-server): split it where a run can check the split",
  "bench/s3_bench.ts benchS3Upload":
    "runs only under deno task bench (Ceph): as above",
  "bench/report_format.ts met":
    "formats a boolean value as the report's result cell; the boolean is the value shown, not a switch",
};

type FunctionNode =
  | Deno.lint.FunctionDeclaration
  | Deno.lint.FunctionExpression
  | Deno.lint.ArrowFunctionExpression;

/** The name a function is known by: its own, its variable's, its key's. */
function nameOf(node: FunctionNode): string {
  if (node.type !== "ArrowFunctionExpression" && node.id) return node.id.name;
  const parent = node.parent;
  const key = parent.type === "VariableDeclarator"
    ? parent.id
    : parent.type === "MethodDefinition" || parent.type === "Property" ||
        parent.type === "PropertyDefinition"
    ? parent.key
    : undefined;
  if (key?.type === "Identifier") return key.name;
  if (key?.type === "PrivateIdentifier") return `#${key.name}`;
  return "(anonymous)";
}

/** Whether `param` is a flag: typed `boolean`, or defaulting to one. */
function isFlag(param: Deno.lint.Parameter): boolean {
  if (param.type === "AssignmentPattern") {
    return param.right.type === "Literal" &&
      typeof param.right.value === "boolean";
  }
  return param.type === "Identifier" &&
    param.typeAnnotation?.typeAnnotation.type === "TSBooleanKeyword";
}

const shape: Deno.lint.Plugin = {
  name: "shape",
  rules: {
    "function-shape": {
      create(context) {
        const check = (node: FunctionNode) => {
          const lines = context.sourceCode.getText(node).split("\n").length;
          const name = nameOf(node);
          if (lines > MAX_FUNCTION_LINES) {
            context.report({ node, message: `${name}: ${lines} lines` });
          }
          // A setter takes one value by nature: not a flag.
          const setter = node.parent.type === "MethodDefinition" &&
            node.parent.kind === "set";
          if (!setter && node.params.some(isFlag)) {
            context.report({ node, message: `${name}: boolean flag` });
          }
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression: check,
        };
      },
    },
  },
};

/** The message of every function in `text` that breaks a rule. */
function findings(path: string, text: string): string[] {
  return Deno.lint.runPlugin(shape, path, text).map((d) => d.message);
}

Deno.test("the check finds long functions and flag parameters, by name", () => {
  const long = Array.from({ length: 60 }, (_, i) => `  f(${i});`).join("\n");
  const text = [
    `function long() {\n${long}\n}`,
    "const ok = (a: number) => a;",
    "class A { m(flag: boolean) {} set v(on: boolean) {} #p(x = false) {} }",
    "const o = { k: (on: boolean) => on };",
  ].join("\n");
  assert.deepEqual(findings("x.ts", text), [
    "long: 62 lines",
    "m: boolean flag",
    "#p: boolean flag",
    "k: boolean flag",
  ]);
});

Deno.test(`functions under routes/ and services/ stay under ${MAX_FUNCTION_LINES} lines, with no boolean flags`, async () => {
  const found: string[] = [];
  for (const path of await allSources()) {
    const text = await Deno.readTextFile(join(ROOT, path));
    for (const message of findings(path, text)) {
      found.push(`${path} ${message}`);
    }
  }
  assert.deepEqual(found, []);
});

Deno.test(`functions under bench/ and tests/fixtures/ stay under ${MAX_FUNCTION_LINES} lines, with no boolean flags`, async () => {
  const found: string[] = [];
  const known = new Set<string>();
  const paths = [...await sources("bench"), ...await sources("tests/fixtures")];
  for (const path of paths) {
    const text = await Deno.readTextFile(join(ROOT, path));
    for (const message of findings(path, text)) {
      const key = `${path} ${message.slice(0, message.indexOf(":"))}`;
      if (key in KNOWN_BENCH) known.add(key);
      else found.push(`${path} ${message}`);
    }
  }
  assert.deepEqual(found, []);
  // A listed function that got short leaves the list too.
  assert.deepEqual([...known].sort(), Object.keys(KNOWN_BENCH).sort());
});
