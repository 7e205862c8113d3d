/**
 * `Content-Disposition: attachment` for a stored file's name (RFC 6266),
 * with a plain `filename` as close to the name as ASCII allows, for the
 * clients that read only it (`curl -OJ`), and the exact name in
 * `filename*` for those that read it (wget, browsers).
 *
 * @module
 */

import { create as contentDisposition } from "content-disposition";
import { withinNameBytes } from "./printable_name.ts";

/**
 * `name` in printable ASCII, for `filename`: its compatibility
 * decomposition (NFKD) without the combining marks, so `naïve résumé.txt`
 * is `naive resume.txt` and `ｆｉｌｅ` is `file` (the library's fallback
 * made every non-ASCII character `?`: `curl -OJ` saved `na?ve r?sum?.txt`).
 * What has no ASCII form is `_` (`报告.pdf` is `__.pdf`), invisible
 * format characters go, `"` is `'` and `\` is `_` (RFC 6266 appendix D:
 * the quoted form's backslash escape is not implemented by some user
 * agents; `filename="a\"b.txt"` made curl and wget save under the id).
 * NFKD can make a path of a name: `..／x` (U+FF0F) decomposes to `../x`,
 * so `/` is `_` too, a name of dots alone is underscores, and it is cut
 * to a file name's 255 bytes (`﷽` is 18 letters).
 */
function asciiFallback(name: string): string {
  const ascii = name.normalize("NFKD")
    .replace(/\p{M}|\p{Cf}/gu, "")
    .replace(/[^\x20-\x7e]/gu, "_")
    .replaceAll('"', "'")
    .replace(/[/\\]/g, "_")
    .trim();
  const named = /^\.*$/.test(ascii) ? ascii.replaceAll(".", "_") || "_" : ascii;
  return withinNameBytes(named) || "_";
}

/**
 * `Content-Disposition: attachment` naming `filename`: the name alone
 * when it is its own ASCII fallback (the library adds `filename*` to a
 * name with `%XX` in it, which some agents would decode), else the
 * fallback in `filename` and the name in `filename*`.
 */
export function attachment(filename: string): string {
  const fallback = asciiFallback(filename);
  return fallback === filename
    ? contentDisposition(filename)
    : contentDisposition(filename, { fallback });
}
