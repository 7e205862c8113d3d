/**
 * Query parameters checked against the constraints the OpenAPI document
 * declares for them, so the document and the server cannot disagree: a
 * declared `minimum` is a `minimum` the server enforces (400), not a hint.
 *
 * Only the schema keywords below are understood (and a list, `type: array`,
 * of a schema made of them: each value of the repeated parameter is one
 * item; its `maxItems` bounds how many times it is given); a declared
 * parameter using
 * any other keyword makes {@linkcode queryChecker} throw, so a constraint
 * cannot be added to the document without the server enforcing it.
 * Parameters the document does not declare (JSONPlaceholder filters on any
 * field) pass untouched, unless the operation refuses them by name, or all
 * it does not declare (`refusedQuery`: the summary takes none, and
 * `_embed` of a todo would add a list its schema does not have).
 *
 * @example Usage
 * ```ts
 * import { queryChecker } from "./parameters.ts";
 *
 * const check = queryChecker([
 *   { name: "_page", in: "query", schema: { type: "integer", minimum: 1 } },
 * ]);
 * check(new URLSearchParams("_page=0")); // "_page must be >= 1, got \"0\""
 * check(new URLSearchParams("_page=2")); // undefined
 * ```
 *
 * @module
 */

import type { JsonSchema, ParameterObject } from "../ops/openapi.ts";
import { qsName } from "./qs_query.ts";

/** Checks a query; the first violation as a sentence, or `undefined`. */
export type QueryChecker = (query: URLSearchParams) => string | undefined;

// Keywords that only annotate: no check follows from them.
const ANNOTATIONS = ["default", "description", "example"];

/** The keywords understood of a value's schema. */
const KNOWN = new Set([
  ...ANNOTATIONS,
  "type",
  "minimum",
  "maximum",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
]);

/** The keywords understood of a list's (`type: array`) schema. */
const KNOWN_OF_LIST = new Set([...ANNOTATIONS, "type", "items", "maxItems"]);

/**
 * Throws for a keyword of `schema` outside `known`: one it cannot enforce
 * would be a constraint of the document the server does not keep.
 */
function refuseUnknownKeywords(
  schema: JsonSchema,
  known: ReadonlySet<string>,
): void {
  const unknown = Object.keys(schema).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new TypeError(`unsupported schema keywords: ${unknown.join(", ")}`);
  }
}

const INTEGER = /^-?[0-9]+$/;
const NUMBER = /^-?[0-9]+(?:\.[0-9]+)?$/;

type ValueCheck = (value: string) => string | undefined;

function typeCheck(type: unknown): ValueCheck {
  switch (type) {
    case undefined:
    case "string":
      return () => undefined;
    case "integer":
      return (v) =>
        INTEGER.test(v) && Number.isSafeInteger(Number(v))
          ? undefined
          : "an integer";
    case "number":
      return (v) => NUMBER.test(v) ? undefined : "a number";
    case "boolean":
      return (v) => v === "true" || v === "false" ? undefined : "true or false";
    default:
      throw new TypeError(`unsupported parameter type: ${String(type)}`);
  }
}

function numberOrUndefined(
  schema: JsonSchema,
  key: string,
): number | undefined {
  const value = schema[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`${key} must be a number`);
  return value;
}

/**
 * The checks of each value of a repeated parameter declared as a list
 * (`_embed=posts&_embed=todos`: OpenAPI's default `form` style, exploded,
 * one item per value): its `items`' checks.
 */
function itemChecks(schema: JsonSchema): ValueCheck[] {
  const { items } = schema;
  if (typeof items !== "object" || items === null || Array.isArray(items)) {
    throw new TypeError("a list without items");
  }
  return valueChecks(items as JsonSchema);
}

/** The checks of one schema, in the order they are reported. */
function valueChecks(schema: JsonSchema): ValueCheck[] {
  const list = schema.type === "array";
  refuseUnknownKeywords(schema, list ? KNOWN_OF_LIST : KNOWN);
  if (list) return itemChecks(schema);
  const checks: ValueCheck[] = [];
  const type = typeCheck(schema.type);
  checks.push((v) => {
    const expected = type(v);
    return expected === undefined ? undefined : `must be ${expected}`;
  });
  const minimum = numberOrUndefined(schema, "minimum");
  if (minimum !== undefined) {
    checks.push((v) =>
      Number(v) < minimum ? `must be >= ${minimum}` : undefined
    );
  }
  const maximum = numberOrUndefined(schema, "maximum");
  if (maximum !== undefined) {
    checks.push((v) =>
      Number(v) > maximum ? `must be <= ${maximum}` : undefined
    );
  }
  const minLength = numberOrUndefined(schema, "minLength");
  if (minLength !== undefined) {
    checks.push((v) =>
      v.length < minLength
        ? `must have at least ${minLength} characters`
        : undefined
    );
  }
  const maxLength = numberOrUndefined(schema, "maxLength");
  if (maxLength !== undefined) {
    checks.push((v) =>
      v.length > maxLength
        ? `must have at most ${maxLength} characters`
        : undefined
    );
  }
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum)) throw new TypeError("enum must be a list");
    const allowed = schema.enum.map(String);
    checks.push((v) =>
      allowed.includes(v) ? undefined : `must be one of ${allowed.join(", ")}`
    );
  }
  if (schema.pattern !== undefined) {
    const pattern = new RegExp(String(schema.pattern), "u");
    checks.push((v) =>
      pattern.test(v) ? undefined : `must match ${String(schema.pattern)}`
    );
  }
  return checks;
}

/** Options of {@linkcode queryChecker}. */
export interface QueryCheckerOptions {
  /**
   * Query parameters refused whatever their value, by name, each with why
   * (the end of the 400's sentence); the name `*` stands for every
   * parameter not declared. A name counts with brackets too (`_embed[]`,
   * `_embed[x]`, `[_embed]`: json-server's parser files them under
   * `_embed`, {@linkcode qsName}).
   */
  readonly refused?: Readonly<Record<string, string>>;
}

/** The refusal of a parameter by name (`refused`), if `query` has one. */
function refusalCheck(
  declared: ReadonlySet<string>,
  refused: Readonly<Record<string, string>>,
): QueryChecker {
  // Most operations refuse nothing: their queries are not walked for it.
  if (Object.keys(refused).length === 0) return () => undefined;
  const others = refused["*"];
  return (query) => {
    let found: string | undefined;
    query.forEach((_, name) => {
      if (found !== undefined) return;
      const filed = qsName(name);
      const why = Object.hasOwn(refused, filed) && filed !== "*"
        ? refused[filed]
        : declared.has(filed)
        ? undefined
        : others;
      if (why !== undefined) found = `${name} is not taken here: ${why}`;
    });
    return found;
  };
}

/**
 * Compiles the query parameters among `parameters` into one checker. Every
 * value of a repeated parameter is checked, under its name with brackets
 * too (`_page[]=0` is a `_page` to json-server). Throws a `TypeError` for a
 * schema it cannot enforce, and for a required query parameter (none is
 * declared; supporting one means adding the check here first).
 */
export function queryChecker(
  parameters: readonly ParameterObject[],
  options: QueryCheckerOptions = {},
): QueryChecker {
  const { refused = {} } = options;
  const compiled = new Map<string, ValueCheck[]>();
  const limits = new Map<string, number>();
  for (const parameter of parameters) {
    if (parameter.in !== "query") continue;
    if (parameter.required) {
      throw new TypeError(`required query parameter: ${parameter.name}`);
    }
    try {
      compiled.set(parameter.name, valueChecks(parameter.schema));
      const most = listLimit(parameter.schema);
      if (most !== undefined) limits.set(parameter.name, most);
    } catch (error) {
      throw new TypeError(
        `query parameter ${parameter.name}: ${(error as Error).message}`,
      );
    }
  }
  const refusal = refusalCheck(new Set(compiled.keys()), refused);
  const count = countCheck(limits);
  return (query) => {
    const refusedName = refusal(query);
    if (refusedName !== undefined) return refusedName;
    // By the name json-server files each under: `_embed[]=x` is an `_embed`.
    // `forEach`, not `for...of`: no entry made per parameter (this runs
    // for every read with a query, memory hits included).
    let found: string | undefined;
    query.forEach((value, name) => {
      if (found !== undefined) return;
      const checks = compiled.get(name) ??
        (name.includes("[") ? compiled.get(qsName(name)) : undefined);
      for (const check of checks ?? []) {
        const problem = check(value);
        if (problem === undefined) continue;
        found = `${name} ${problem}, got ${JSON.stringify(value)}`;
        return;
      }
    });
    return found ?? count(query);
  };
}

/** A list's `maxItems` (`undefined` for a value, or a list without one). */
function listLimit(schema: JsonSchema): number | undefined {
  if (schema.type !== "array") return undefined;
  const most = numberOrUndefined(schema, "maxItems");
  if (most !== undefined && !(Number.isInteger(most) && most >= 0)) {
    throw new RangeError(`maxItems must be an integer >= 0, got ${most}`);
  }
  return most;
}

/**
 * The check of a list's `maxItems` (`limits`, by name): how many times its
 * parameter is given, under its name with brackets too. Each value costs
 * the upstream a pass over the answer (json-server embeds or expands once
 * per `_embed` or `_expand`, the same name again included).
 */
function countCheck(limits: ReadonlyMap<string, number>): QueryChecker {
  // Most operations bound no list: their queries are not counted.
  if (limits.size === 0) return () => undefined;
  return (query) => {
    const counts = new Map<string, number>();
    let found: string | undefined;
    query.forEach((_, name) => {
      const filed = limits.has(name) ? name : qsName(name);
      const most = limits.get(filed);
      if (found !== undefined || most === undefined) return;
      const given = (counts.get(filed) ?? 0) + 1;
      counts.set(filed, given);
      if (given > most) {
        found = `${filed} must be given at most ${most} times, got more`;
      }
    });
    return found;
  };
}
