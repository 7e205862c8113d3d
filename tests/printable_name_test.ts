/**
 * The one cleaning of a stored file's name (services/http/printable_name.ts)
 * against names hostile and international clients send: invisible
 * characters, names of dots alone, lone surrogates, and names longer than
 * the 255 bytes a file system takes for one name (they were cut at 255
 * code points, up to 1020 bytes, and lost their extension).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_NAME_BYTES,
  printableName,
  uploadedFileName,
} from "../services/http/printable_name.ts";

const bytes = (text: string) => new TextEncoder().encode(text).length;

Deno.test("invisible characters go; the zero-width joiners of emoji and scripts stay", () => {
  assert.equal(printableName("in\u200bvoice\u2060.pdf\ufeff"), "invoice.pdf");
  assert.equal(
    printableName("soft\u00adhyphen\u2028line.txt"),
    "softhyphenline.txt",
  );
  // A family emoji (ZWJ sequence) and a Persian word with a ZWNJ.
  assert.equal(
    printableName("\u{1f468}\u200d\u{1f469}.png"),
    "\u{1f468}\u200d\u{1f469}.png",
  );
  assert.equal(
    printableName("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt"),
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",
  );
});

Deno.test("a name of dots alone is no name, as . and .. are", () => {
  for (const name of [".", "..", "...", ". .", "\u200b..\u200b"]) {
    assert.equal(printableName(name), undefined, name);
    assert.equal(uploadedFileName(`dir/${name}`), undefined, name);
  }
  assert.equal(printableName(".bashrc"), ".bashrc");
  assert.equal(printableName("a..b"), "a..b");
});

Deno.test("a lone surrogate (an old sidecar's JSON) is U+FFFD, which filename* can encode", () => {
  assert.equal(printableName("a\ud800b.txt"), "a\ufffdb.txt");
  assert.equal(printableName("\udc00.txt"), "\ufffd.txt");
});

Deno.test("a name over 255 bytes of UTF-8 is cut between graphemes, its extension kept", () => {
  assert.equal(MAX_NAME_BYTES, 255);
  const accents = printableName("\u00e9".repeat(300) + ".pdf")!;
  assert.equal(accents, "\u00e9".repeat(125) + ".pdf");
  assert.equal(
    printableName("n".repeat(300) + ".bin"),
    "n".repeat(251) + ".bin",
  );
  // Decomposed: e + combining acute, never split from its letter.
  const decomposed = printableName("e\u0301".repeat(100) + ".txt")!;
  assert.ok(bytes(decomposed) <= 255);
  assert.equal(decomposed, "e\u0301".repeat(83) + ".txt");
  // Emoji of 4 bytes each, and a family sequence kept whole or not at all.
  const family = "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}";
  const emoji = printableName(family.repeat(20) + ".jpeg")!;
  assert.ok(bytes(emoji) <= 255);
  assert.equal(emoji, family.repeat(13) + ".jpeg");
  // No extension, or one too long to be one: the start of the name.
  assert.equal(printableName("x".repeat(1000)), "x".repeat(255));
  assert.equal(printableName("a." + "b".repeat(300)), "a." + "b".repeat(253));
  // The cut leaves no space before the extension.
  assert.equal(
    printableName("a".repeat(250) + "     x.txt"),
    "a".repeat(250) + ".txt",
  );
  // One grapheme longer than a name: nothing fits.
  assert.equal(printableName("a" + "\u0301".repeat(200) + ".txt"), undefined);
});
