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

function underPrefix(pathname: string, prefix: string): boolean {
  const base = prefix.replace(/\/+$/, "");
  return base === "" || pathname === base ||
    pathname.startsWith(base + "/");
}

function matchesPattern(pathname: string, pattern: string): boolean {
  const want = pattern.split("/");
  const have = pathname.split("/");
  return want.length === have.length &&
    want.every((part, i) => part === "*" ? have[i] !== "" : part === have[i]);
}

function hasParam(query: string, [name, value]: readonly [string, string]) {
  return new URLSearchParams(query).getAll(name)
    .some((given) => given.split(",").includes(value));
}

/** Whether `rule` drops the entry under `key` (a path and its query). */
export function ruleMatches(rule: KeyRule, key: string): boolean {
  const mark = key.indexOf("?");
  const pathname = mark === -1 ? key : key.slice(0, mark);
  const query = mark === -1 ? "" : key.slice(mark + 1);
  return (rule.paths ?? []).includes(pathname) ||
    (rule.prefixes ?? []).some((prefix) => underPrefix(pathname, prefix)) ||
    (rule.patterns ?? []).some((pattern) =>
      matchesPattern(pathname, pattern)
    ) ||
    (query !== "" && (rule.params ?? []).some((p) => hasParam(query, p)));
}

/** The keys of `keys` that `rule` drops. */
export function keysMatching(
  rule: KeyRule,
  keys: Iterable<string>,
): string[] {
  return [...keys].filter((key) => ruleMatches(rule, key));
}
