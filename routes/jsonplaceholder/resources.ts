/**
 * The JSONPlaceholder resources, declared once: their names, the zod
 * schemas of their items (the OpenAPI document's `Post`, `Comment`, ...
 * components), the fields worth filtering on, the nested collections
 * (`/<parent>/:id/<child>`), the parts of the `/users/:id/summary`
 * aggregate, and the query parameters every list takes (the document declares them and the
 * query check enforces them, from the same schemas).
 *
 * @module
 */

import { z } from "zod";
import { qsName, qsParams } from "../../services/http/qs_query.ts";

/** The resources of JSONPlaceholder. */
export const RESOURCES = [
  "posts",
  "comments",
  "albums",
  "photos",
  "todos",
  "users",
] as const;

/** A resource name. */
export type Resource = typeof RESOURCES[number];

/** Nested collections: `/<parent>/:id/<child>`. */
export const NESTED = [
  ["posts", "comments"],
  ["albums", "photos"],
  ["users", "posts"],
  ["users", "todos"],
  ["users", "albums"],
] as const satisfies readonly (readonly [Resource, Resource])[];

/** An id: a positive (safe) integer. */
export const IdSchema = z.int().min(1);

// Digits of a positive integer: 1 to 9, then 0 to 9 (at most 16 in all).
const ONE = 0x31;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Whether `id` is a positive integer a JSONPlaceholder id can be: up to 16
 * digits, no leading zero, and safe. Read digit by digit, not with a
 * regex: this runs on every cached GET of an item, and a regex test is a
 * call out of the JIT code into the regex engine.
 */
export function isValidId(id: string | undefined): id is string {
  if (id === undefined || id.length === 0 || id.length > 16) return false;
  const first = id.charCodeAt(0);
  if (first < ONE || first > NINE) return false;
  for (let i = 1; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < ZERO || code > NINE) return false;
  }
  return Number.isSafeInteger(Number(id));
}

/**
 * Orders `[name, ...]` entries by {@linkcode qsName}, stable: the
 * parameters json-server reads as one list keep their order.
 */
function byQsName(a: readonly [string, ...unknown[]], b: typeof a): number {
  const [x, y] = [qsName(a[0]), qsName(b[0])];
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The canonical query string: parameters sorted by name, the values of a
 * repeated one kept in their order. json-server reads a repeated
 * parameter as the list of its values in order, and for its own ones that
 * order is meaning: `_limit=5&_limit=10` takes 5 items and
 * `_limit=10&_limit=5` 10 (`parseInt` of the list joined), so the two are
 * not one answer. A name with brackets is the same list (`qs` files
 * `_limit[]=10&_limit=5` as `_limit`, 10 items), so names are compared as
 * {@linkcode qsName} makes them. Parameters of different names commute
 * (filters are all applied), so their order is not kept. `search` is the
 * query as sent (`?` first): a query with an escape that is no UTF-8 is
 * made canonical by {@linkcode canonicalRawQuery}.
 */
export function canonicalQuery(
  params: URLSearchParams,
  search: string,
): string {
  if (search.length > QS_PARAMETER_LIMIT) {
    const read = readByQs(search);
    if (read !== search) return canonicalQuery(new URLSearchParams(read), read);
  }
  if (!decodesCleanly(search)) return canonicalRawQuery(search);
  const entries = [...qsParams(params, search)];
  if (entries.length === 0) return "";
  // Array.prototype.sort is stable: equal names keep their order.
  entries.sort(byQsName);
  return "?" + new URLSearchParams(entries).toString();
}

/** How many `&`-separated pieces of a query json-server's `qs` reads. */
const QS_PARAMETER_LIMIT = 1000;

/**
 * The part of `search` json-server reads: `qs` takes the first 1,000
 * `&`-separated pieces (empty ones count) and drops the rest, so
 * `?x&x&…(1,000)&userId=1` is every post there. Sorted whole, the query
 * put `userId=1` first and asked for 10. A query of fewer pieces is
 * `search` itself.
 */
function readByQs(search: string): string {
  let at = 0;
  for (let piece = 0; piece < QS_PARAMETER_LIMIT; piece++) {
    at = search.indexOf("&", at + 1);
    if (at < 0) return search;
  }
  return search.slice(0, at);
}

/**
 * Whether every escape of `text` is UTF-8 (`%41`, `%C3%A9`), so that
 * `URLSearchParams` reads it as Express's `qs` does. A cached hit's
 * query mostly has no `%` at all: one scan, no decoding.
 */
function decodesCleanly(text: string): boolean {
  if (!text.includes("%")) return true;
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * {@linkcode canonicalQuery} of a query with an escape that is no UTF-8
 * (`%FF`, `%zz`, `%E6` alone). `URLSearchParams` reads those as U+FFFD or
 * leaves them, each on its own, while json-server's `qs` leaves the whole
 * name or value it cannot decode as sent: `title_like=[%FF]` is the
 * regular expression `[%FF]` there (titles with an `f`), and re-encoding
 * it from `URLSearchParams` sent `[%EF%BF%BD]` (no title) and shared the
 * cache entry of a query that asks that. So such a parameter passes on as
 * it came, the others made canonical as usual, all sorted by name.
 */
function canonicalRawQuery(search: string): string {
  const entries: [string, string][] = [];
  for (const piece of search.slice(1).split("&")) {
    const [entry] = new URLSearchParams(piece);
    if (entry === undefined) continue;
    const kept = decodesCleanly(piece)
      ? new URLSearchParams([entry]).toString()
      : piece;
    entries.push([entry[0], kept]);
  }
  entries.sort(byQsName);
  return "?" + entries.map(([, kept]) => kept).join("&");
}

const email = z.email();
const url = z.url();

/** A post. */
export const PostSchema = z.object({
  userId: IdSchema,
  id: IdSchema,
  title: z.string(),
  body: z.string(),
});

/** A comment on a post. */
export const CommentSchema = z.object({
  postId: IdSchema,
  id: IdSchema,
  name: z.string(),
  email,
  body: z.string(),
});

/** An album. */
export const AlbumSchema = z.object({
  userId: IdSchema,
  id: IdSchema,
  title: z.string(),
});

/** A photo of an album. */
export const PhotoSchema = z.object({
  albumId: IdSchema,
  id: IdSchema,
  title: z.string(),
  url,
  thumbnailUrl: url,
});

/** A todo. */
export const TodoSchema = z.object({
  userId: IdSchema,
  id: IdSchema,
  title: z.string(),
  completed: z.boolean(),
});

/** A user. */
export const UserSchema = z.object({
  id: IdSchema,
  name: z.string(),
  username: z.string(),
  email,
  address: z.object({
    street: z.string(),
    suite: z.string(),
    city: z.string(),
    zipcode: z.string(),
    geo: z.object({ lat: z.string(), lng: z.string() }),
  }),
  phone: z.string(),
  website: z.string(),
  company: z.object({
    name: z.string(),
    catchPhrase: z.string(),
    bs: z.string(),
  }),
});

/** What the OpenAPI document and the routes know of one resource. */
export interface ResourceInfo {
  /** The component name of its items. */
  readonly name: string;
  /** One item, in prose. */
  readonly noun: string;
  /** Its items. */
  readonly schema: z.ZodObject;
  /** The fields worth declaring as filters (any field filters). */
  readonly filters: z.ZodObject;
}

/** Every resource's schema and filters. */
export const RESOURCE_INFO: Readonly<Record<Resource, ResourceInfo>> = {
  posts: {
    name: "Post",
    noun: "post",
    schema: PostSchema,
    filters: z.object({ userId: z.int().optional() }),
  },
  comments: {
    name: "Comment",
    noun: "comment",
    schema: CommentSchema,
    filters: z.object({
      postId: z.int().optional(),
      email: z.string().optional(),
    }),
  },
  albums: {
    name: "Album",
    noun: "album",
    schema: AlbumSchema,
    filters: z.object({ userId: z.int().optional() }),
  },
  photos: {
    name: "Photo",
    noun: "photo",
    schema: PhotoSchema,
    filters: z.object({ albumId: z.int().optional() }),
  },
  todos: {
    name: "Todo",
    noun: "todo",
    schema: TodoSchema,
    filters: z.object({
      userId: z.int().optional(),
      completed: z.boolean().optional(),
    }),
  },
  users: {
    name: "User",
    noun: "user",
    schema: UserSchema,
    filters: z.object({
      username: z.string().optional(),
      email: z.string().optional(),
    }),
  },
};

const ORDER_WORD = "(?:[aA][sS][cC]|[dD][eE][sS][cC])";
const ORDER = new RegExp(`^${ORDER_WORD}(?:,${ORDER_WORD})*$`);

/** The query parameters every list takes (json-server's). */
export const ListQuerySchema = z.object({
  q: z.string().describe("Full-text search over every field.").optional(),
  _sort: z.string().describe("Sort by this field.").optional(),
  // Any case and a list: json-server 0.8 (the npm package) reverses on
  // `DESC`, 0.17 (the public service) on `desc`, one per `_sort` field.
  // Spelled without the `i` flag, which a JSON Schema pattern cannot carry.
  _order: z.string().regex(ORDER)
    .describe(
      "Sort order, `asc` or `desc` in any case; one per `_sort` field, " +
        "comma-separated.",
    ).optional(),
  _start: z.int().min(0)
    .describe("Index of the first item (with `_end` or `_limit`).")
    .optional(),
  _end: z.int().min(0).describe("Index after the last item.").optional(),
  _limit: z.int().min(0).describe("Most items to return.").optional(),
  _page: z.int().min(1)
    .describe("Page number (pages of `_limit` items, 10 by default).")
    .optional(),
});

/** The lists a summary gathers besides the user. */
export const SUMMARY_PARTS = ["posts", "todos", "albums"] as const;

/** A part of a summary that failed. */
export const PartErrorSchema = z.object({
  part: z.enum(SUMMARY_PARTS),
  status: z.int().min(100).max(599),
  detail: z.string(),
});

/** A part of a summary that failed. */
export type PartError = z.infer<typeof PartErrorSchema>;
