/**
 * Which cached entries an invalidation drops, as data: a
 * {@linkcode KeyRule} travels to the other instances sharing a Redis (as
 * JSON, checked by {@linkcode KeyRuleSchema} when it arrives) and is
 * matched against the cache keys there. A key is a path and its canonical
 * query (`/posts?userId=1`); every rule names paths, so a path's query
 * variants go with it.
 *
 * @module
 */

import { z } from "zod";
import { qsName } from "../http/qs_query.ts";

const path = z.string().startsWith("/").max(2048);

/** A rule, as it travels between instances. */
export const KeyRuleSchema = z.object({
  /** Paths whose entries go, with every query variant. */
  paths: z.array(path).optional(),
  /** Subtrees: the path, its variants, and every path under `prefix/`. */
  prefixes: z.array(path).optional(),
  /**
   * Path patterns where `*` stands for one segment (the comments of any
   * post: `["", "posts", "*", "comments"].join("/")`), with every query
   * variant.
   */
  patterns: z.array(path).optional(),
  /** Entries whose query has `name=value` (on any path), e.g. `_embed`. */
  params: z.array(z.tuple([z.string(), z.string()])).optional(),
});

/** Which cached entries an invalidation drops. */
export type KeyRule = z.infer<typeof KeyRuleSchema>;

/** What a store dropped. */
export interface Dropped {
  /**
   * The keys removed: with a shared tier, those found in Redis and in this
   * instance's memory (other instances drop their copies of them).
   */
  keys: string[];
  /** `shared` when Redis, and through it every instance, was reached. */
  scope: "shared" | "local";
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function prefixTest(prefix: string): (pathname: string) => boolean {
  const base = prefix.replace(/\/+$/, "");
  return base === ""
    ? () => true
    : (pathname) => pathname === base || pathname.startsWith(base + "/");
}

function patternTest(pattern: string): (pathname: string) => boolean {
  const source = pattern.split("/")
    .map((part) => part === "*" ? "[^/]+" : escape(part)).join("/");
  const regex = new RegExp(`^${source}$`);
  return (pathname) => regex.test(pathname);
}

/**
 * Whether a query names `name`=`value`, the name read as json-server's
 * `qs` reads it: `_embed[]=comments` and `[_embed]=comments` are
 * `_embed=comments` there (they were kept after a write to a comment).
 */
function paramTest([name, value]: readonly [string, string]) {
  return (query: string) => {
    // Most queries do not name it at all: no parse for them.
    if (!query.includes(name)) return false;
    for (const [given, values] of new URLSearchParams(query)) {
      if (qsName(given) === name && values.split(",").includes(value)) {
        return true;
      }
    }
    return false;
  };
}

/**
 * `rule` as a test of keys, prepared once: a drop walks every cached key,
 * so the test of one key must cost little.
 */
export function keyTest(rule: KeyRule): (key: string) => boolean {
  const paths = new Set(rule.paths ?? []);
  const pathTests = [
    ...(rule.prefixes ?? []).map(prefixTest),
    ...(rule.patterns ?? []).map(patternTest),
  ];
  const queryTests = (rule.params ?? []).map(paramTest);
  return (key) => {
    const mark = key.indexOf("?");
    const pathname = mark === -1 ? key : key.slice(0, mark);
    if (paths.has(pathname) || pathTests.some((test) => test(pathname))) {
      return true;
    }
    if (mark === -1) return false;
    const query = key.slice(mark + 1);
    return queryTests.some((test) => test(query));
  };
}

/** The keys of `keys` that `rule` drops. */
export function keysMatching(
  rule: KeyRule,
  keys: Iterable<string>,
): string[] {
  const test = keyTest(rule);
  const found: string[] = [];
  for (const key of keys) if (test(key)) found.push(key);
  return found;
}
