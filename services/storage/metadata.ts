/**
 * The stored-file format's metadata: what `<id>.json` holds
 * ({@linkcode FileMetadata}) and the file ids (32 lowercase hex
 * characters).
 *
 * @module
 */

import { Buffer } from "node:buffer";

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** What is kept about a stored file, in its `<id>.json` sidecar. */
export interface FileMetadata {
  /** 32 lowercase hex characters. */
  id: string;
  /** Length in bytes. */
  size: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
  /** When the upload was committed, ISO 8601 UTC. */
  created: string;
  /** The file's name, as a multipart upload's file part gave it. */
  filename?: string;
  /** The file's media type, as a multipart upload's file part gave it. */
  contentType?: string;
}

/** Whether `id` is a well-formed file id (32 lowercase hex characters). */
export function isValidId(id: unknown): id is string {
  return typeof id === "string" && ID_PATTERN.test(id);
}

/** A fresh random file id. */
export function newId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString(
    "hex",
  );
}

/**
 * The metadata in sidecar text `text` of file `id`, or `undefined` when it
 * is not valid JSON of that shape (a torn write, another id).
 */
export function parseMetadata(
  id: string,
  text: string,
): FileMetadata | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const meta = value as Partial<FileMetadata> | null;
  if (
    typeof meta !== "object" || meta === null || meta.id !== id ||
    !Number.isSafeInteger(meta.size) || typeof meta.sha256 !== "string" ||
    typeof meta.created !== "string"
  ) {
    return undefined;
  }
  return {
    id,
    size: meta.size!,
    sha256: meta.sha256,
    created: meta.created,
    // Kept from multipart uploads (optional, so older sidecars still read).
    ...(typeof meta.filename === "string" ? { filename: meta.filename } : {}),
    ...(typeof meta.contentType === "string"
      ? { contentType: meta.contentType }
      : {}),
  };
}
