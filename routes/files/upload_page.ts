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
 * Both scripts read an event stream with the one parser of
 * `page/event_stream.js`, joined here at the start of each: each served
 * script stays one file, so a page's script or worker never loads a parser
 * of another release (an instance of another release answering during a
 * rolling upgrade, or a cached copy), as a script of its own could.
 *
 * @module
 */

import html from "./page/upload.html" with { type: "text" };
import eventStream from "./page/event_stream.js" with { type: "text" };
import view from "./page/upload_view.js" with { type: "text" };
import net from "./page/upload_net.js" with { type: "text" };
import queue from "./page/upload.js" with { type: "text" };
import css from "./page/upload.css" with { type: "text" };
import worker from "./page/upload_events.js" with { type: "text" };
import { ASSETS_PATH, staticText } from "../../services/http/static_text.ts";
import type { Route } from "../router.ts";

/** The page's script: its parts, joined in the order they run. */
const js = [eventStream, view, net, queue].join("\n");

/** The shared worker's script: the parser, then the worker. */
const events = [eventStream, worker].join("\n");

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
