/**
 * Where an upload's bytes go, as the pipeline sees it: an
 * {@linkcode UploadSink} opened for one upload, written in order, then
 * committed or aborted. Declared here, by its consumer, so the pipeline
 * needs no storage module: the routes hand it a storage's upload handle,
 * which fits this shape (local disk today, an S3-compatible store next).
 *
 * @module
 */

/** What is kept about a stored file (the storage's metadata). */
export interface StoredFile {
  /** The file's id. */
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

/** What the pipeline knows of a finished upload, handed to the commit. */
export type UploadContent = Omit<StoredFile, "id" | "created">;

/** One upload's destination. */
export interface UploadSink {
  /** The id the file gets once committed. */
  readonly id: string;
  /**
   * Appends all of `chunk`. `chunk` is only valid until the promise
   * settles: its buffer is refilled with later bytes.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the file durable and visible; resolves with its metadata. */
  commit(content: UploadContent): Promise<StoredFile>;
  /** Removes everything the upload wrote; safe to call more than once. */
  abort(): Promise<void>;
}
