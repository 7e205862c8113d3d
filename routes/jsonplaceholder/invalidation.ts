/**
 * What a successful write makes stale (RFC 9111 section 4.4), from the
 * resource declarations: the target and everything under it, the
 * collection with all its query variants, the nested collections of the
 * resource under any parent (`/posts/:id/comments` after a write to a
 * comment, `/users/:id/posts` after a write to a post), the lists that
 * embed or expand it (`?_embed=comments`, `?_expand=post`), and the paths
 * the answer names (`Location`, `Content-Location`, the id of a created
 * item). `/users/:id/summary` is assembled from cached parts on each
 * request (the user, their posts, todos and albums), so dropping those
 * parts refreshes it.
 *
 * @module
 */

import type { KeyRule } from "../../services/cache/invalidation.ts";
import { NESTED, type Resource, RESOURCE_INFO } from "./resources.ts";

/** What a write touched. */
export interface WriteTarget {
  resource: Resource;
  /** The item's id; absent for a `POST` to the collection. */
  id?: string;
  /** Paths the answer names, already known to be the upstream's. */
  related: readonly string[];
}

/** The entries a successful write to `target` makes stale. */
export function writeRule({ resource, id, related }: WriteTarget): KeyRule {
  return {
    paths: [`/${resource}`, ...related],
    prefixes: id === undefined ? [] : [`/${resource}/${id}`],
    patterns: NESTED.filter(([, child]) => child === resource)
      .map(([parent]) => `/${parent}/*/${resource}`),
    params: [
      ["_embed", resource],
      ["_expand", RESOURCE_INFO[resource].noun],
    ],
  };
}

/**
 * `/<resource>/<id>` of the item a `POST` created, from its answer's JSON
 * (as the answer's check parsed it).
 */
export function createdPath(
  resource: Resource,
  answer: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  const id = answer?.id;
  return Number.isSafeInteger(id) && (id as number) > 0
    ? `/${resource}/${id}`
    : undefined;
}
