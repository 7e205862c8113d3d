/**
 * The download's `Content-Disposition` (services/http/attachment.ts): a
 * plain `filename` as close to the name as ASCII allows for `curl -OJ`,
 * which reads nothing else (it was `?` for every non-ASCII character:
 * `na?ve r?sum?.txt`), that never makes a path or `..` of a name, never
 * carries a control character, and stays a file name's 255 bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { attachment } from "../services/http/attachment.ts";

/** The plain `filename` of a header `attachment` made. */
function plain(header: string): string {
  const match = /filename=("(?:[^"\\]|\\.)*"|[^;]*)/.exec(header);
  assert.ok(match, header);
  const value = match[1]!;
  return value.startsWith('"')
    ? value.slice(1, -1).replace(/\\(.)/g, "$1")
    : value;
}

const CASES: [string, string][] = [
  ["na\u00efve r\u00e9sum\u00e9.txt", "naive resume.txt"],
  [
    "Cr\u00e8me br\u00fbl\u00e9e \u00c0 la carte.pdf",
    "Creme brulee A la carte.pdf",
  ],
  // Compatibility forms: fullwidth letters, ligatures.
  ["\uff46\uff49\uff4c\uff45\uff0e\uff54\uff58\uff54", "file.txt"],
  ["\ufb01nal.doc", "final.doc"],
  // No ASCII form: one _ a character (an emoji is one).
  ["\u62a5\u544a.pdf", "__.pdf"],
  [
    "\u0441\u0447\u0451\u0442.xlsx",
    "____.xlsx",
  ],
  ["\u{1f600} smile.png", "_ smile.png"],
  ["stra\u00dfe.txt", "stra_e.txt"],
  // NFKD would make a path: fullwidth solidus and reverse solidus.
  ["..\uff0f..\uff0fetc\uff0fpasswd", ".._.._etc_passwd"],
  ["a\uff3cb.txt", "a_b.txt"],
  // Dots alone, fullwidth or the one- and two-dot leaders.
  ["\uff0e\uff0e", "__"],
  ["\u2025", "__"],
  ["\u2024", "_"],
  // Quotes and backslashes (RFC 6266 appendix D).
  ['say "hi".txt', "say 'hi'.txt"],
  ["\uff02q\uff02.txt", "'q'.txt"],
  // Invisible format characters go, marks alone leave _.
  ["a\u200db.txt", "ab.txt"],
  ["\u0301", "_"],
];

Deno.test("the plain filename is the name's nearest ASCII, never a path or dots", () => {
  for (const [name, expected] of CASES) {
    const header = attachment(name);
    assert.equal(plain(header), expected, name);
    assert.match(header, /^[\x20-\x7e]+$/, name);
    const exact = /filename\*=UTF-8''([^;]+)$/.exec(header)?.[1];
    assert.equal(decodeURIComponent(exact ?? ""), name, header);
  }
});

Deno.test("an ASCII name is sent alone, and one with %XX gets filename* too", () => {
  assert.equal(
    attachment("report 2026.pdf"),
    'attachment; filename="report 2026.pdf"',
  );
  assert.equal(
    attachment("100%22.txt"),
    `attachment; filename=100%22.txt; filename*=UTF-8''100%2522.txt`,
  );
});

Deno.test("the plain filename stays within a file name's 255 bytes, its extension kept", () => {
  // U+FDFD decomposes to 18 letters: 14 of them are 42 bytes, 252 letters.
  const header = attachment("\ufdfd".repeat(14) + ".txt");
  const fallback = plain(header);
  assert.ok(fallback.length <= 255, `${fallback.length}`);
  assert.ok(fallback.endsWith(".txt"), fallback);
});
