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
