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

/** The longest name kept, in code points. */
export const MAX_NAME_CODE_POINTS = 255;

/**
 * `name` printable and short: control characters go, C1 (U+0080 to
 * U+009F; U+009B is a terminal's CSI) as well as C0, and so do bidi
 * controls: U+202E in `invoice\u202efdp.exe` shows it as `invoiceexe.pdf`,
 * and wget saves it so from `filename*` (chromium's downloads make them
 * `_`). `undefined` when nothing is left.
 */
export function printableName(name: string): string | undefined {
  const clean = name.replace(/\p{Cc}|\p{Bidi_Control}/gu, "").trim();
  return clean ? [...clean].slice(0, MAX_NAME_CODE_POINTS).join("") : undefined;
}

/**
 * The name an upload gives, as it is kept: its last path segment (after
 * the last `/` or `\`, as a form's `filename` is read: `C:\x\a.txt`
 * from an old browser is `a.txt`), with nothing for `.` and `..`, then
 * {@linkcode printableName}. `undefined` when nothing is left.
 */
export function uploadedFileName(name: string): string | undefined {
  const base = name.slice(
    Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1,
  );
  return base === "." || base === ".." ? undefined : printableName(base);
}
