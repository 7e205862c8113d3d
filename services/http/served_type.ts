/**
 * The media type a stored file is served with: the one its uploader
 * declared, unless a browser would run it. Files are served from the
 * service's own origin, so an HTML page (or SVG, XML, which may hold
 * XHTML and script) uploaded by one user and opened by another ran with
 * the origin's rights; a script or stylesheet would pass a `'self'`
 * Content-Security-Policy of the service's own pages. Those are served as
 * `application/octet-stream`, which a browser downloads (the metadata
 * still lists what was declared), and every download carries
 * `X-Content-Type-Options: nosniff`, so a browser takes the type as sent
 * and sniffs no HTML out of a `text/plain` or an image.
 *
 * @example Usage
 * ```ts
 * import { servedContentType } from "./served_type.ts";
 *
 * servedContentType("image/png"); // "image/png"
 * servedContentType("text/html; charset=utf-8"); // "application/octet-stream"
 * servedContentType(undefined); // "application/octet-stream"
 * ```
 *
 * @module
 */

/** What a file with no declared type, or an active one, is served as. */
export const OPAQUE_TYPE = "application/octet-stream";

// Types a browser renders as a document that can run script (HTML, XHTML,
// SVG and any XML, which may hold XHTML), runs as script or style, or
// hands to a plug-in; multipart/x-mixed-replace, which replaces the page,
// and message/ and multipart/ types a browser may open as an archived page
// (MHTML).
const ACTIVE =
  /^(?:text\/html|text\/css|text\/xsl|text\/xml|text\/vtt|application\/xml|[^/]+\/[^;]*\+xml|[^/]+\/(?:x-)?(?:java|ecma|j)script|text\/(?:x-)?(?:javascript[\d.]*|livescript|jscript)|application\/(?:x-)?(?:shockwave-flash|silverlight-app|wasm)|multipart\/.*|message\/.*)$/;

/**
 * The `Content-Type` to serve a file declared `declared` with: as declared
 * (a stored media type, possibly with `charset`), or
 * {@linkcode OPAQUE_TYPE} when none was declared or the type is active.
 */
export function servedContentType(declared: string | undefined): string {
  if (declared === undefined) return OPAQUE_TYPE;
  const essence = declared.split(";", 1)[0]!.trim().toLowerCase();
  return ACTIVE.test(essence) ? OPAQUE_TYPE : declared;
}
