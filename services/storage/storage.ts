/**
 * The storage of uploaded files behind one interface, {@linkcode FileStorage}:
 * it owns the stored format (ids, content, metadata), the commit that makes
 * an upload durable, listing, reading, deleting and the sweep of what a
 * crash leaves behind. The upload pipeline writes through the handle that
 * {@linkcode FileStorage.begin} returns and knows nothing of the format.
 *
 * The local disk (`local_disk.ts`) is the first implementation. The shape
 * fits an S3-compatible store as the second: `begin` is
 * CreateMultipartUpload, `write` buffers and uploads parts, `commit` is
 * CompleteMultipartUpload (plus the metadata object), `abort` is
 * AbortMultipartUpload, and `sweep` aborts stale multipart uploads.
 *
 * @module
 */

import type { FileMetadata } from "./metadata.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** What the writer knows of a finished upload; the storage adds the rest. */
export interface UploadContent {
  /** Length in bytes. */
  size: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
  /** The file's name, as a multipart upload's file part gave it. */
  filename?: string;
  /** The file's media type, as a multipart upload's file part gave it. */
  contentType?: string;
}

/**
 * One upload in progress: bytes go in with `write`, then exactly one of
 * `commit` (the file appears, complete) or `abort` (nothing is kept).
 */
export interface StorageUpload {
  /** The id the file gets once committed. */
  readonly id: string;
  /**
   * Appends all of `chunk`. `chunk` is only valid until the promise
   * settles: its buffer is refilled with later bytes.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the file durable and visible, all or nothing, and resolves with
   * its metadata. On a rejection, call `abort` to remove what was written.
   */
  commit(content: UploadContent): Promise<FileMetadata>;
  /**
   * Removes everything this upload wrote, committed or not; safe to call
   * more than once.
   */
  abort(): Promise<void>;
}

/**
 * What {@linkcode FileStorage.deleteIf} did: deleted, found no file, or
 * refused (the precondition was false of the file there, `meta`).
 */
export type ConditionalDeletion =
  | "deleted"
  | "missing"
  | { refused: FileMetadata };

/** Options of {@linkcode FileStorage.list}. */
export interface ListOptions {
  /** Most items in one page, 1 to 1000. @default {100} */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

/** Most items {@linkcode FileStorage.list} returns in one page. */
export const MAX_LIST_LIMIT = 1000;

/**
 * The page size `options` ask for (100 by default), for every store alike.
 * Throws a `RangeError` unless it is an integer from 1 to
 * {@linkcode MAX_LIST_LIMIT}.
 */
export function listLimitOf(options: ListOptions): number {
  const { limit = 100 } = options;
  checkWholeNumbers({ limit }, { max: MAX_LIST_LIMIT });
  return limit;
}

/** One page of {@linkcode FileStorage.list}. */
export interface ListPage {
  /** Files sorted by `created`, then `id`. */
  items: FileMetadata[];
  /** Present when more files follow; pass it back as `cursor`. */
  nextCursor?: string;
}

/** Bytes `start` to `end` of a file, both included. */
export interface ReadRange {
  start: number;
  end: number;
}

/** The storage is unreachable (e.g. its folder is missing and cannot be made). */
export class StorageUnavailableError extends Error {
  /** Creates the error; `cause` is the underlying error, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}

/**
 * The storage takes no writes for now (the local folder's filesystem
 * read-only, its permissions taken away, an I/O error); reads may go on.
 */
export class StorageUnwritableError extends StorageUnavailableError {
  /** Creates the error; `cause` is the OS error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageUnwritableError";
  }
}

/**
 * The storage refuses to take more data for now (an S3 store full or over
 * its quota): like unreachable, worth retrying later, once space is freed.
 */
export class StorageFullError extends StorageUnavailableError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageFullError";
  }
}

/**
 * The storage refuses this service's credentials (an S3 key revoked or
 * rotated away, its user suspended, its access taken away) while the
 * service runs: nothing it holds can be reached until an operator restores
 * them, but the service itself is sound, so a client should come back
 * later (503), not be told the server broke (500). At start the same
 * refusal stops the start, naming the setting (`s3_errors.ts`).
 */
export class StorageRefusedError extends StorageUnavailableError {
  /**
   * The store's own word for the refusal, e.g. `InvalidAccessKeyId`, when
   * its answer gave one.
   */
  readonly code: string | undefined;

  /** Creates the error; `code` is the store's word for the refusal. */
  constructor(
    code: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StorageRefusedError";
    this.code = code;
  }
}

/**
 * The storage refuses this host's requests as signed at the wrong time (an
 * S3 store's `RequestTimeTooSkewed`: this host's clock stepped or drifted
 * more than the 15 min S3 takes from the store's) while the service runs:
 * the requests are sound and taken again once the clock is right, so a
 * client should come back later (503). Before, each request answered 500
 * and logged its stack (libfaketime stepping the service's clock 20 min
 * ahead under load). At start the same refusal stops the start, naming the
 * clock (`s3_errors.ts`).
 */
export class StorageClockError extends StorageRefusedError {
  /** Creates the error; `code` is the store's word for the refusal. */
  constructor(
    code: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "StorageClockError";
  }
}

/**
 * The place the storage keeps its files in is gone (an S3 bucket deleted,
 * or never made, while the service runs): nothing can be stored or read
 * until an operator makes it again, but the service itself is sound and
 * serves again once it is back, without a restart, so a client should come
 * back later (503), not be told the server broke (500). At start it stops
 * the start, naming the setting (`s3_errors.ts`).
 */
export class StorageMissingError extends StorageRefusedError {
  /** Creates the error; `code` is the store's word, e.g. `NoSuchBucket`. */
  constructor(
    code: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = "StorageMissingError";
  }
}

/**
 * The listing index is still being built after a start (downloads, uploads
 * and deletes work meanwhile): a listing is worth asking again in
 * `retryAfterSeconds`.
 */
export class IndexBuildingError extends StorageUnavailableError {
  /** When to ask again, s (an estimate from the build's pace). */
  readonly retryAfterSeconds: number;

  /** Creates the error; `message` says how far the build has gone. */
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = "IndexBuildingError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * What holds a taken id: a stored file, or another upload still running
 * (it may yet fail, and then nothing of the id is stored).
 */
export type IdHolder = "stored" | "running";

/**
 * Another upload of the same id was committed first (an S3 store shared by
 * several instances, each seeing only its own uploads in progress), or is
 * in progress (in another process on a shared disk folder; on S3, claimed
 * and not completed yet): this one is given up, and the other's stays.
 */
export class FileIdTakenError extends Error {
  /** The id taken. */
  readonly id: string;
  /** What holds the id. */
  readonly holder: IdHolder;

  /** Creates the error for file `id`, held by `holder`. */
  constructor(id: string, holder: IdHolder) {
    super(
      holder === "stored"
        ? `Another upload of id ${id} was stored first`
        : `Another upload of id ${id} is in progress`,
    );
    this.name = "FileIdTakenError";
    this.id = id;
    this.holder = holder;
  }
}

/**
 * A stored file opened by {@linkcode FileStorage.open}: the metadata of the
 * very content opened, and its bytes.
 */
export interface OpenedFile {
  /** The metadata of the content opened (never an older version's). */
  meta: FileMetadata;
  /**
   * The content (only `range` of it, when given); the stream owns the file
   * and closes it. Call it once, or {@linkcode OpenedFile.close} instead.
   */
  read(range?: ReadRange): Promise<ReadableStream<Uint8Array>>;
  /** Releases the file when its bytes are not wanted (304, 412, 416). */
  close(): void;
}

/**
 * The stored files. Ids not of the storage's form (see `isValidId`) are
 * never found, so a path-like id can never escape it.
 */
export interface FileStorage {
  /**
   * Makes sure an upload can start (the local disk remakes a folder that
   * was removed); rejects with {@linkcode StorageUnavailableError}.
   */
  ready(): Promise<void>;
  /** Bytes left for uploads, or `undefined` when unknown or unbounded. */
  freeBytes(): Promise<number | undefined>;
  /**
   * Starts an upload under `id` (a fresh one when left out); rejects with
   * a `RangeError` for an id not of the storage's form. The caller makes
   * sure no other upload of the same id runs, and that `id` is not stored,
   * as far as it can see; one stored by another process sharing the
   * storage meanwhile is kept, and this upload's commit rejects with
   * {@linkcode FileIdTakenError} ("stored").
   */
  begin(id?: string): Promise<StorageUpload>;
  /**
   * One page of the stored files, oldest first (ties by id); rejects with a
   * `RangeError` on a bad `limit` or `cursor`.
   */
  list(options?: ListOptions): Promise<ListPage>;
  /**
   * The metadata of file `id`, or `undefined` if there is none. This and
   * the methods below reject with {@linkcode StorageUnavailableError} when
   * the storage cannot be used for now (an S3 store down, a local folder
   * that is no folder or cannot be read).
   */
  stat(id: string): Promise<FileMetadata | undefined>;
  /**
   * The content of file `id` (only `range` of it, when given), or
   * `undefined` if there is none. With `version` (what `stat` gave), also
   * `undefined` when the file is another version by now (deleted and
   * stored again, by another process too), so its bytes never go out
   * under that version's length and validators: the local disk checks
   * the file it opened, S3 asks for the object `stat` found (`If-Match`).
   */
  read(
    id: string,
    range?: ReadRange,
    version?: FileMetadata,
  ): Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * File `id` opened, with the metadata of the content opened, or
   * `undefined` if there is none: a `GET` decides and reads from one look
   * at the file. Optional: the local disk has it (one `fstat` where `stat`
   * then `read` with `version` took a `stat` and an `fstat`); S3 has
   * nothing to open, and a download there takes `stat` then `read`.
   */
  open?(id: string): Promise<OpenedFile | undefined>;
  /** Deletes file `id`; resolves `false` if there was none. */
  delete(id: string): Promise<boolean>;
  /**
   * Deletes file `id` only if `holds` is true of its metadata, deciding on
   * the very version it deletes, as far as the store allows (see the
   * stores' docs): a version that replaced the one checked is not deleted.
   */
  deleteIf(
    id: string,
    holds: (meta: FileMetadata) => boolean,
  ): Promise<ConditionalDeletion>;
  /**
   * Removes what a crash left behind (uploads never committed or
   * aborted); resolves with how many leftovers went. Run it at startup
   * only: uploads in progress look the same.
   */
  sweep(): Promise<number>;
}
