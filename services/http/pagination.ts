/**
 * The paging headers of a list answer, as JSONPlaceholder (json-server)
 * sends them: `X-Total-Count` (items before paging, with `_page`,
 * `_limit`, `_start`/`_end`) and a `Link` (RFC 8288) to the first, previous,
 * next and last pages. Clients page with them (react-admin's
 * `ra-data-json-server` needs `X-Total-Count`), so a cached list keeps them.
 * The `Link` targets are kept as paths on this service and written out
 * absolute, on the origin the client asked, when the answer is sent.
 *
 * @module
 */

/** One `Link` element: its target path on this service, and its params. */
export type LinkElement = readonly [path: string, params: string];

/** The paging headers of a list answer. */
export interface Pagination {
  /** `X-Total-Count`, digits only. */
  totalCount?: string;
  /** The `Link` elements, targets as paths (`/posts?_page=2`). */
  links?: readonly LinkElement[];
}

// An RFC 9110 token, and a parameter: `; name`, `; name=token` or
// `; name="quoted"` (a quoted string may hold commas and semicolons).
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const PARAM =
  `\\s*;\\s*${TOKEN}(?:\\s*=\\s*(?:"(?:[^"\\\\]|\\\\.)*"|${TOKEN}))?`;
// One element, from where the last one ended: `<target>` and its params,
// then a comma or the end.
const ELEMENT = new RegExp(`\\s*<([^>]*)>((?:${PARAM})*)\\s*(?:,|$)`, "y");

/**
 * The elements of a `Link` value as `[target, params]` (params as sent,
 * without the first `;`), or `undefined` when it is malformed: a header
 * that cannot be read whole is dropped rather than passed on in part.
 */
export function parseLink(value: string): [string, string][] | undefined {
  const elements: [string, string][] = [];
  ELEMENT.lastIndex = 0;
  while (ELEMENT.lastIndex < value.length) {
    const match = ELEMENT.exec(value);
    if (match === null) return undefined;
    elements.push([match[1]!, match[2]!.trim().replace(/^;\s*/, "")]);
  }
  return elements;
}

/** The `X-Total-Count` of an answer: digits, or `undefined`. */
export function totalCountOf(value: string | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed !== undefined && /^\d{1,15}$/.test(trimmed)
    ? trimmed
    : undefined;
}

/**
 * Adds the `X-Total-Count` and `Link` of `pagination` to `headers`, the
 * links absolute on `origin`.
 */
export function addPaginationHeaders(
  headers: Record<string, string>,
  pagination: Pagination,
  origin: string,
): void {
  const { totalCount, links } = pagination;
  if (totalCount !== undefined) headers["x-total-count"] = totalCount;
  if (links !== undefined && links.length > 0) {
    headers["link"] = links.map(([path, params]) =>
      params === "" ? `<${origin}${path}>` : `<${origin}${path}>; ${params}`
    ).join(", ");
  }
}
