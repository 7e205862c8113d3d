/**
 * The one reading of a request's query, shared by the query check and
 * every route that reads parameters: each `&`-separated piece cut where
 * json-server's query parser (Express's `qs`) cuts it. `qs` reads
 * `%5B`/`%5D` as `[`/`]`, and a piece with `]=` is cut after that `]`,
 * not at its first `=`: `title=a%5D=b` is a parameter named `title=a]`
 * with the value `b`, which no item has (json-server drops it: every
 * post), and `_page=1%5D=2` is `_page=1]`, no `_page` at all (json-server
 * answers the whole list). `URLSearchParams` reads both at the first `=`
 * (`title` = `a]=b`, `_page` = `1]=2`), so a check reading it refused a
 * `_page` json-server never sees while the filters, reading as `qs` does,
 * passed the query on; one reading for both keeps them from disagreeing.
 *
 * @example Usage
 * ```ts
 * import { qsParams } from "./qs_query.ts";
 *
 * const search = "?_page=1%5D=2";
 * [...qsParams(new URLSearchParams(search), search)];
 * // [["_page=1]", "2"]]
 * ```
 *
 * @module
 */

// `]=` in a query, `%5D` standing for `]` as `qs` reads it.
const BRACKET_EQUALS = /(?:\]|%5D)=/i;

/**
 * `params`, the query `search` parsed (`?` first), with each parameter cut
 * where `qs` cuts it (see the module doc). A query without `]=` is
 * `params` itself.
 */
export function qsParams(
  params: URLSearchParams,
  search: string,
): URLSearchParams {
  if (!BRACKET_EQUALS.test(search)) return params;
  const entries: [string, string][] = [];
  for (const raw of search.slice(1).split("&")) {
    if (raw === "") continue;
    const piece = raw.replace(/%5B/gi, "[").replace(/%5D/gi, "]");
    const bracketEquals = piece.indexOf("]=");
    const at = bracketEquals < 0 ? piece.indexOf("=") : bracketEquals + 1;
    entries.push(
      at < 0
        ? [formDecoded(piece), ""]
        : [formDecoded(piece.slice(0, at)), formDecoded(piece.slice(at + 1))],
    );
  }
  return new URLSearchParams(entries);
}

/**
 * `text` decoded as a form's name or value (`+` is a space); an escape
 * that is no UTF-8 (`%FF`) leaves it undecoded, as `qs` does. It threw:
 * `?a%5D=%FF` was a 500.
 */
function formDecoded(text: string): string {
  const spaced = text.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * The name json-server's query parser (Express's `qs`) files a parameter
 * under: the part before the first `[` (`_limit[]` and `_limit[x]` are
 * `_limit`), or the first bracket's content when the name starts with one
 * (`[_limit]`). Parameters of one such name make one list, in the order
 * they came.
 */
export function qsName(name: string): string {
  const open = name.indexOf("[");
  if (open < 0) return name;
  if (open > 0) return name.slice(0, open);
  const close = name.indexOf("]");
  return close < 0 ? name : name.slice(1, close);
}
