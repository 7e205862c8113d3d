/**
 * Handlers for text the service serves as it is (the pages of `/docs` and
 * `/upload`, their assets and `/openapi.json`): encoded and tagged once, on
 * first use, and answered with their type, length and a strong `ETag`
 * (`X-Content-Type-Options: nosniff` is the pipeline's, on every Response:
 * routes/finish.ts). The text changes with each release
 * under the same URL, so callers send `Cache-Control: no-cache`: a browser
 * revalidates on each visit, and the tag makes that a bodiless `304` while
 * the text is the same. They are dated by their content's recorded date
 * (`text_dates.ts`), or else the handler's making (the process's start):
 * a client that revalidates by date alone (`wget -N`, so `wget --mirror`,
 * and `curl -z`) gets its `304` too, where without a `Last-Modified` it
 * fetched everything again on each run.
 *
 * The assets of the pages live under {@linkcode ASSETS_PATH}, never under a
 * page's own path: a mirror saves `/upload` as a file, and `/upload/upload.js`
 * needed a folder of that name (`wget --mirror` deleted the page for it).
 *
 * @module
 */

import {
  evaluatePreconditions,
  formatHttpDate,
  preconditionFailed,
  strongLastModified,
  type Validators,
} from "./conditional.ts";
import { etagOf } from "./etag.ts";
import { recordedDate } from "./text_dates.ts";

/** The folder the pages' scripts and styles are served from. */
export const ASSETS_PATH = "/assets";

const encoder = new TextEncoder();

interface Tagged {
  bytes: Uint8Array<ArrayBuffer>;
  etag: string;
}

async function tagged(text: string): Promise<Tagged> {
  const bytes = encoder.encode(text);
  return { bytes, etag: await etagOf(bytes) };
}

/**
 * The validators of text made at `since`: its date only once strong (RFC
 * 9110 8.8.2.2), a second after the one it names, as a download's. A
 * release started within the second another one did shares its date.
 */
function validatorsAt(etag: string, since: number): Validators {
  return strongLastModified(since, Date.now())
    ? { etag, lastModified: since }
    : { etag };
}

/**
 * A handler answering with `text()`, made on first use and kept; `304` to
 * an `If-None-Match` naming its tag, or to an `If-Modified-Since` not
 * before its date (recorded, or the handler's making). A `text()` that throws is called again on
 * the next request.
 */
export function staticText(
  contentType: string,
  text: () => string,
  headers: Record<string, string>,
): (req: Request) => Promise<Response> {
  // The text is the release's, fixed from the start on.
  const since = Date.now();
  let made: Promise<Tagged> | undefined;
  return async (req) => {
    made ??= tagged(text());
    const { bytes, etag } = await made;
    const validators = validatorsAt(etag, recordedDate(etag) ?? since);
    const common: Record<string, string> = {
      ...headers,
      "etag": etag,
    };
    if (validators.lastModified !== undefined) {
      common["last-modified"] = formatHttpDate(validators.lastModified);
    }
    const outcome = evaluatePreconditions(req.method, req.headers, validators);
    if (outcome === "failed") {
      return preconditionFailed(new URL(req.url).pathname, etag);
    }
    if (outcome === "not-modified") {
      return new Response(null, { status: 304, headers: common });
    }
    return new Response(bytes, {
      headers: {
        ...common,
        "content-type": contentType,
        "content-length": String(bytes.byteLength),
      },
    });
  };
}
