/**
 * Handlers for text the service serves as it is (the pages of `/docs` and
 * `/upload` and their assets, imported as text so they are bundled and
 * compiled in): encoded once, on first use, with its type and length and
 * `X-Content-Type-Options: nosniff`.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A handler answering with `text()`, encoded on first use and kept. */
export function staticText(
  contentType: string,
  text: () => string,
  headers: Record<string, string>,
): () => Response {
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  return () => {
    bytes ??= encoder.encode(text());
    return new Response(bytes, {
      headers: {
        ...headers,
        "content-type": contentType,
        "content-length": String(bytes.byteLength),
        "x-content-type-options": "nosniff",
      },
    });
  };
}
