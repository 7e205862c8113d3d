/**
 * The one cleaning of a file's name for display: the name an upload gives
 * (a form's file part, services/uploads/form_data.ts, or the last segment of
 * `PUT /files/<name>`, routes/files/upload_target.ts) goes through
 * {@linkcode uploadedFileName} on the way in, and every stored name through
 * {@linkcode printableName} on the way out, wherever a stored file's metadata is read
 * (services/storage/metadata.ts: the listing, the download's
 * `Content-Disposition`), so a name stored before the cleaning existed
 * is served as a new one would be.
 *
 * @module
 */

/**
 * The longest name kept, in bytes of UTF-8: what ext4 (and most file
 * systems) take for one name, so a client saving the download under it
 * can. 255 code points were kept before: `é` × 255 is 510 bytes, which
 * `wget --content-disposition` cut to 72 and chromium cuts too.
 */
export const MAX_NAME_BYTES = 255;

// An extension longer than this is no extension but part of the name.
const MAX_EXTENSION_BYTES = 32;

const encoder = new TextEncoder();
const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

function byteLength(text: string): number {
  return encoder.encode(text).length;
}

// Invisible characters that are not bidi controls: zero-width space, word
// joiner, invisible operators, BOM, soft hyphen, Mongolian vowel
// separator, and the line and paragraph separators (a line break in a
// terminal). The zero-width joiners (U+200C, U+200D) stay: emoji and
// Indic or Persian words need them.
const INVISIBLE = /[\u00ad\u180e\u200b\u2060-\u2064\ufeff\u2028\u2029]/gu;

/**
 * `name` at most {@linkcode MAX_NAME_BYTES} bytes, cut between graphemes
 * (never inside a character or an accented letter), its extension kept:
 * a long `report….pdf` stays a PDF. Empty when nothing fits before it.
 */
export function withinNameBytes(name: string): string {
  if (byteLength(name) <= MAX_NAME_BYTES) return name;
  const dot = name.lastIndexOf(".");
  const extension =
    dot > 0 && byteLength(name.slice(dot)) <= MAX_EXTENSION_BYTES
      ? name.slice(dot)
      : "";
  let budget = MAX_NAME_BYTES - byteLength(extension);
  let kept = "";
  const base = name.slice(0, name.length - extension.length);
  for (const { segment } of graphemes.segment(base)) {
    budget -= byteLength(segment);
    if (budget < 0) break;
    kept += segment;
  }
  kept = kept.trimEnd();
  return kept ? kept + extension : "";
}

/**
 * `name` printable and short: control characters go, C1 (U+0080 to
 * U+009F; U+009B is a terminal's CSI) as well as C0, and so do bidi
 * controls: U+202E in `invoice\u202efdp.exe` shows it as `invoiceexe.pdf`,
 * and wget saves it so from `filename*` (chromium's downloads make them
 * `_`); invisible characters too ({@linkcode INVISIBLE}), and a lone
 * surrogate (from an old sidecar's JSON) is U+FFFD: `filename*` could not
 * encode it (the download was a 500). At most {@linkcode MAX_NAME_BYTES}.
 * `undefined` when nothing is left, or only dots: `...` is no file name
 * on Windows and a hidden one elsewhere.
 */
export function printableName(name: string): string | undefined {
  const clean = withinNameBytes(
    name.toWellFormed().replace(/\p{Cc}|\p{Bidi_Control}/gu, "")
      .replace(INVISIBLE, "").trim(),
  );
  return /^[.\s]*$/.test(clean) ? undefined : clean;
}

/**
 * The name an upload gives, as it is kept: its last path segment (after
 * the last `/` or `\`, as a form's `filename` is read: `C:\x\a.txt`
 * from an old browser is `a.txt`), then {@linkcode printableName} (so
 * nothing for `.` and `..`). `undefined` when nothing is left.
 */
export function uploadedFileName(name: string): string | undefined {
  return printableName(
    name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1),
  );
}
