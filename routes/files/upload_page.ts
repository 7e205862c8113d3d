/**
 * `GET /upload`: a page, served by this service, that uploads a picked or
 * dropped file and shows the reader and the writer at work while it runs
 * (from `GET /uploads/events`), then the stored file and the verdict. Its
 * HTML, script and styles (`page/`) are imported as text, so they are
 * bundled and compiled in like the `/docs` assets, and the script and
 * styles are served from `/assets/` like those; the page's
 * Content-Security-Policy allows this origin only, with no inline script
 * or style, so it can make no outside request. Its tabs share one event
 * stream through a SharedWorker (`page/upload_events.js`, from
 * `/assets/` too; a worker's script falls under `script-src 'self'`).
 *
 * @module
 */

import html from "./page/upload.html" with { type: "text" };
import js from "./page/upload.js" with { type: "text" };
import css from "./page/upload.css" with { type: "text" };
import events from "./page/upload_events.js" with { type: "text" };
import { ASSETS_PATH, staticText } from "../../services/http/static_text.ts";
import type { Route } from "../router.ts";

/** Path of the upload page. */
export const UPLOAD_PAGE_PATH = "/upload";

/**
 * The page's Content-Security-Policy: script, styles and fetches from this
 * origin only (the favicon is a `data:` URL), nothing inline, no framing.
 */
export const UPLOAD_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The route table entries of the upload page and its assets. */
export function uploadPageRoutes(): Route[] {
  // The assets change with the service: revalidate rather than cache a day.
  const assets = { "cache-control": "no-cache" };
  return [
    {
      method: "GET",
      pattern: UPLOAD_PAGE_PATH,
      handler: staticText("text/html; charset=utf-8", () => html, {
        ...assets,
        "content-security-policy": UPLOAD_PAGE_CSP,
        "referrer-policy": "no-referrer",
      }),
    },
    {
      method: "GET",
      pattern: `${ASSETS_PATH}/upload.js`,
      handler: staticText("text/javascript; charset=utf-8", () => js, assets),
    },
    {
      method: "GET",
      pattern: `${ASSETS_PATH}/upload_events.js`,
      handler: staticText(
        "text/javascript; charset=utf-8",
        () => events,
        assets,
      ),
    },
    {
      method: "GET",
      pattern: `${ASSETS_PATH}/upload.css`,
      handler: staticText("text/css; charset=utf-8", () => css, assets),
    },
  ];
}
