/**
 * The stored-file format's metadata: what `<id>.json` holds
 * ({@linkcode FileMetadataSchema}, whose type is {@linkcode FileMetadata};
 * sidecars are checked against it when read) and the file ids (32
 * lowercase hex characters).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { z } from "zod";
import { printableName } from "../http/printable_name.ts";
import { parseJsonWith } from "../ops/json_text.ts";
import type { UploadContent } from "./storage.ts";

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** A file id as made by the server: 32 lowercase hex characters. */
export const FileIdSchema = z.string().regex(ID_PATTERN);

/** What is kept about a stored file, in its `<id>.json` sidecar. */
export const FileMetadataSchema = z.object({
  id: FileIdSchema,
  size: z.int().min(0).describe("Bytes."),
  sha256: z.string().regex(/^[0-9a-f]{64}$/)
    .describe("SHA-256 of the content, hex."),
  created: z.string().meta({ format: "date-time" })
    .describe("When the upload was committed."),
  // Known only when the upload said them (optional, so older sidecars
  // still read): a form's file part's name, the declared type.
  filename: z.string()
    .describe(
      "The file part's filename (multipart uploads) or the name of a " +
        "`PUT /files/{name}`: its last `/` or `\\` segment without " +
        "control, bidi or zero-width characters, at most 255 bytes of " +
        "UTF-8 (its extension kept); none when only dots or nothing " +
        "printable is left.",
    )
    .exactOptional(),
  contentType: z.string()
    .describe(
      "The Content-Type the upload declared (a raw body's, or a form's " +
        "file part's), with its charset; downloads are served with it " +
        "unless a browser would run it.",
    )
    .exactOptional(),
});

/** What is kept about a stored file, in its `<id>.json` sidecar. */
export type FileMetadata = z.infer<typeof FileMetadataSchema>;

/**
 * The metadata in a sidecar's text, or `undefined` when it is not JSON,
 * does not fit {@linkcode FileMetadataSchema} or names another id. Unknown
 * members are dropped. The filename is cleaned as an upload's is
 * (services/http/printable_name.ts): one stored before that cleaning
 * existed may hold control or bidi characters, and every name served
 * (listing, `Content-Disposition`) comes from here.
 */
export function parseMetadata(
  id: string,
  text: string,
): FileMetadata | undefined {
  const meta = parseJsonWith(FileMetadataSchema, text);
  if (meta?.id !== id) return undefined;
  if (meta.filename === undefined) return meta;
  const { filename, ...rest } = meta;
  const printable = printableName(filename);
  return printable === undefined ? rest : { ...rest, filename: printable };
}

/**
 * The metadata an upload's commit keeps: its id, what the pipeline measured
 * and described, and the commit time. One place for every store, so the
 * stored format cannot drift between them.
 */
export function committedMetadata(
  id: string,
  content: UploadContent,
): FileMetadata {
  const { size, sha256, ...described } = content;
  return { id, size, sha256, created: new Date().toISOString(), ...described };
}

/**
 * Whether `a` and `b` describe the same stored version of a file: an id
 * deleted and stored again has another commit time (and most often other
 * content).
 */
export function sameVersion(a: FileMetadata, b: FileMetadata): boolean {
  return a.id === b.id && a.sha256 === b.sha256 && a.size === b.size &&
    a.created === b.created;
}

/** Whether `id` is a well-formed file id (32 lowercase hex characters). */
export function isValidId(id: unknown): id is string {
  return typeof id === "string" && ID_PATTERN.test(id);
}

/**
 * A fresh file id: the creation time in milliseconds (12 hex digits), then
 * 80 random bits, so ids sort by creation time (an object store lists
 * keys in that order).
 */
export function newId(): string {
  const time = Date.now().toString(16).padStart(12, "0").slice(-12);
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(10)));
  return time + random.toString("hex");
}
