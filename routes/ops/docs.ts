/**
 * The API docs: `GET /openapi.json` (the OpenAPI 3.1 document of the route
 * table, built once on first use) and `GET /docs`, a Swagger UI page whose
 * assets are served from `/assets/` by this service. The assets are imported
 * as text from `swagger-ui-dist`, so they are bundled and compiled in with
 * the rest of the code; the page's Content-Security-Policy allows only this
 * origin, so it can make no outside request.
 *
 * @module
 */

import css from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import bundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import contrast from "./docs_contrast.css" with { type: "text" };
import { ASSETS_PATH, staticText } from "../../services/http/static_text.ts";
import { openApiDocument } from "../openapi.ts";
import type { Route } from "../router.ts";

/** Path of the OpenAPI document. */
export const OPENAPI_PATH = "/openapi.json";

/** Path of the docs page. */
export const DOCS_PATH = "/docs";

/**
 * The Content-Security-Policy of the docs page: scripts, styles, images,
 * media and fetches from this origin only (Swagger UI sets inline styles and
 * uses `data:` images), nothing else. "Try it out" of a download shows an
 * image as a `blob:` URL the page makes of the body it fetched (blob URLs
 * are made by this origin's own scripts only), and audio in an `<audio>`
 * whose source is the request's URL: without `blob:` and `media-src` both
 * were blocked, each with a console error.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self'",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const INITIALIZER = `"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_PATH)},
    dom_id: "#swagger-ui",
    validatorUrl: null,
    tryItOutEnabled: true,
    deepLinking: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Swagger UI wraps its servers select in an empty label, which leaves
    // it without an accessible name (axe-core: select-name, critical).
    onComplete: function () {
      var servers = document.getElementById("servers");
      if (servers) servers.setAttribute("aria-label", "Server");
    },
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>async-api docs</title>
<meta name="description" content="The async-api HTTP API: every route of the cached JSONPlaceholder front and the streaming uploads, from its OpenAPI document, with requests to try.">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="${ASSETS_PATH}/swagger-initializer.js"></script>
</body>
</html>
`;

const JS_TYPE = "text/javascript; charset=utf-8";

/** The static assets of the page: path, content type and text. */
const ASSETS: readonly (readonly [string, string, () => string])[] = [
  [
    `${ASSETS_PATH}/swagger-ui.css`,
    "text/css; charset=utf-8",
    // The source map is not served: drop the reference to it. Then the
    // colours and targets raised to WCAG 2.2 AA (docs_contrast.css).
    () =>
      css.replace(/\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "") + "\n" +
      contrast,
  ],
  [
    `${ASSETS_PATH}/swagger-ui-bundle.js`,
    JS_TYPE,
    () => bundle.replace(/\/\/# sourceMappingURL=\S*\s*$/, ""),
  ],
  [`${ASSETS_PATH}/swagger-initializer.js`, JS_TYPE, () => INITIALIZER],
];

/**
 * The route table entries of the docs. `getRoutes` returns the whole route
 * table; it is called once, on the first request for the document, so it
 * may refer to a router built after these routes.
 */
export function docsRoutes(getRoutes: () => readonly Route[]): Route[] {
  // Built on the first request, once the router exists.
  const openApi = staticText(
    "application/json; charset=utf-8",
    () => JSON.stringify(openApiDocument(getRoutes())),
    { "cache-control": "no-cache" },
  );

  const page = staticText("text/html; charset=utf-8", () => PAGE, {
    "cache-control": "no-cache",
    "content-security-policy": DOCS_CSP,
    "referrer-policy": "no-referrer",
  });

  return [
    { method: "GET", pattern: OPENAPI_PATH, handler: openApi },
    { method: "GET", pattern: DOCS_PATH, handler: page },
    ...ASSETS.map(([pattern, contentType, text]): Route => ({
      method: "GET",
      pattern,
      // They change with a release under the same URL (the pinned Swagger
      // UI, the initializer): revalidated, never kept a day.
      handler: staticText(contentType, text, { "cache-control": "no-cache" }),
    })),
  ];
}
