/**
 * A declared `Content-Digest` (or `Repr-Digest`) checked against a body's
 * bytes as sent, for a body the pipeline gets decoded: RFC 9530 digests
 * are of the content as sent, its `Content-Encoding` and all, while the
 * pipeline hashes the decoded file.
 *
 * ```ts ignore
 * const checked = sentDigestChecked(req.body!, declaredSha256);
 * const file = decodedBody(checked, "gzip");
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { DigestMismatchError } from "./errors.ts";

/**
 * `body` as it is, erroring with {@linkcode DigestMismatchError} at its end
 * (in place of closing) when its SHA-256 is not `expectedSha256`: whatever
 * reads it learns before its last read, so nothing is kept.
 */
export function sentDigestChecked(
  body: ReadableStream<Uint8Array>,
  expectedSha256: Uint8Array,
): ReadableStream<Uint8Array> {
  const hash = createHash("sha256");
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        const actual = hash.digest();
        if (!actual.equals(expectedSha256)) {
          throw new DigestMismatchError(
            Buffer.from(expectedSha256).toString("hex"),
            actual.toString("hex"),
          );
        }
      },
    }),
  );
}
