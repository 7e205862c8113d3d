/**
 * The `GET /files` cursor of a disk store: the list position (`created`,
 * `id`) of the last file of a page, as base64url JSON, so the next page
 * starts after it whatever was added or deleted meanwhile.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { IndexPosition } from "./file_index.ts";
import { type FileMetadata, isValidId } from "./metadata.ts";

/** The cursor of the page after `meta`: its list position, base64url JSON. */
export function encodeCursor(meta: FileMetadata): string {
  return Buffer.from(JSON.stringify([meta.created, meta.id])).toString(
    "base64url",
  );
}

/** The position `cursor` names; a `RangeError` when it is not a cursor. */
export function decodeCursor(cursor: string): IndexPosition {
  try {
    const value: unknown = JSON.parse(
      Buffer.from(cursor, "base64url").toString(),
    );
    if (
      Array.isArray(value) && value.length === 2 &&
      typeof value[0] === "string" && isValidId(value[1])
    ) {
      return { created: value[0], id: value[1] };
    }
  } catch {
    // Falls through to the RangeError below.
  }
  throw new RangeError("Invalid list cursor");
}
