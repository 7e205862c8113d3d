/**
 * The second {@linkcode FileStorage}: the stored uploads in a bucket of an
 * S3-compatible store (AWS S3, Ceph radosgw, MinIO...), shared by every
 * instance that names it. `files/<id>` holds the content, written as a
 * multipart upload that becomes visible only at its completion (see
 * `s3_upload.ts`); `meta/<id>.json` holds its {@linkcode FileMetadata}.
 * Ids begin with their creation time, so the store's key order (the order
 * of ListObjectsV2) is the order of creation and pages come in order.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type FileMetadata, isValidId, newId } from "./metadata.ts";
import { S3Bucket, type S3BucketOptions } from "./s3_bucket.ts";
import {
  MAX_UNRESPONSIVE_MS,
  S3Health,
  type StoreVerdict,
} from "./s3_health.ts";
import { lastBeats, liveKey } from "./s3_heartbeat.ts";
import { sweepLeftovers } from "./s3_leftovers.ts";
import { NO_KEYS } from "./s3_listing.ts";
import { deleteStored, deleteStoredIf } from "./s3_delete.ts";
import { readMetadataObject } from "./s3_tombstone.ts";
import { contentKey, metadataKey } from "./s3_keys.ts";
import { S3Upload } from "./s3_upload.ts";
import { xmlValues } from "./s3_xml.ts";
import {
  type ConditionalDeletion,
  type FileStorage,
  listLimitOf,
  type ListOptions,
  type ListPage,
  type ReadRange,
  type StorageUpload,
} from "./storage.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of {@linkcode S3Storage}. */
export interface S3StorageOptions extends Omit<S3BucketOptions, "observer"> {
  /** Size of every part but the last (S3: 5 MiB or more). @default {8388608} */
  partBytes?: number;
  /** Most parts uploading at once, per upload. @default {4} */
  partsInFlight?: number;
  /**
   * How often an upload in progress marks itself alive for other
   * instances' sweeps; keep it well under their `sweep(olderThanMs)`.
   * @default {10000}
   */
  heartbeatMs?: number;
  /** Called once per change of {@linkcode S3Storage.readiness}'s verdict. */
  onReadinessChange?: (verdict: StoreVerdict) => void;
}

const MIN_PART_BYTES = 5 * 1024 * 1024;
const CONTENT = /^files\/([0-9a-f]{32})$/;
// A file whose metadata and content disagree (being replaced) is looked
// at this many times before it is answered as missing.
const LOOKS = 3;
// The metadata objects of a page are read this many at a time. All at once,
// a page of 1,000 opened ~650 connections to the store (each a descriptor,
// kept idle after), took 2.6 s, and four such listings at once all ran past
// S3_TIMEOUT_MS (503), slowing every other request to the store meanwhile.
const METADATA_BATCH = 32;

function encodeCursor(id: string): string {
  return Buffer.from(id).toString("base64url");
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString();
  if (!isValidId(id)) throw new RangeError("Invalid list cursor");
  return id;
}

/** The stored uploads in one bucket of an S3-compatible store. */
export class S3Storage implements FileStorage, Disposable {
  readonly #bucket: S3Bucket;
  readonly #health: S3Health;
  readonly #partBytes: number;
  readonly #partsInFlight: number;
  readonly #heartbeatMs: number;
  // The ETag of the content each metadata `stat` gave was found with, kept
  // as long as that metadata object is (a download holds it while it runs).
  readonly #etags = new WeakMap<FileMetadata, string>();

  /** Creates the store; no request is made. */
  constructor(options: S3StorageOptions) {
    const { partBytes = 8 * 1024 * 1024, partsInFlight = 4 } = options;
    const { heartbeatMs = 10_000 } = options;
    checkWholeNumbers({ partBytes }, { min: MIN_PART_BYTES });
    checkWholeNumbers({ partsInFlight, heartbeatMs });
    // The probe: a listing of no keys (NO_KEYS). Unresponsive no later
    // than a request of the store times out (the operator's
    // S3_TIMEOUT_MS), and at most 2 s: a listing of no keys takes
    // milliseconds on a store that serves.
    this.#health = new S3Health({
      probe: () => this.#bucket.run(NO_KEYS),
      unresponsiveMs: Math.min(
        options.timeoutMs ?? MAX_UNRESPONSIVE_MS,
        MAX_UNRESPONSIVE_MS,
      ),
      ...(options.onReadinessChange
        ? { onChange: options.onReadinessChange }
        : {}),
    });
    this.#bucket = new S3Bucket({ ...options, observer: this.#health });
    this.#partBytes = partBytes;
    this.#partsInFlight = partsInFlight;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Closes the connections kept to the store. */
  close(): void {
    this.#bucket.close();
  }

  /** Same as {@linkcode S3Storage.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Nothing to prepare: an unreachable store fails the upload's begin. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Whether the store serves, for `/readyz`: the verdict of the last
   * request to it, or of a probe once that is older than 2 s (waited for
   * at most `waitMs`; `unresponsive` once it is late: see `s3_health.ts`).
   */
  readiness(waitMs: number): Promise<StoreVerdict> {
    return this.#health.verdict(waitMs);
  }

  /** Unknown: the store refuses, if ever, during the upload. */
  freeBytes(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  /** CreateMultipartUpload under `id` (a fresh one by default). */
  begin(id: string = newId()): Promise<StorageUpload> {
    if (!isValidId(id)) {
      return Promise.reject(new RangeError("Invalid file id"));
    }
    return S3Upload.open(this.#bucket, id, {
      partBytes: this.#partBytes,
      partsInFlight: this.#partsInFlight,
      heartbeatMs: this.#heartbeatMs,
    });
  }

  /**
   * One page of ListObjectsV2 of `files/`, with each file's metadata (read
   * {@linkcode METADATA_BATCH} at a time).
   */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const limit = listLimitOf(options);
    const { cursor } = options;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const xml = await this.#bucket.text({
      method: "GET",
      key: "",
      query: {
        "list-type": "2",
        prefix: "files/",
        "max-keys": String(limit),
        ...(after === undefined ? {} : { "start-after": contentKey(after) }),
      },
      answer: "ListBucketResult",
    });
    const ids = xmlValues(xml, "Key").flatMap((key) => {
      const match = CONTENT.exec(key);
      return match ? [match[1]!] : [];
    });
    const items: FileMetadata[] = [];
    for (let i = 0; i < ids.length; i += METADATA_BATCH) {
      const batch = ids.slice(i, i + METADATA_BATCH);
      const found = await Promise.all(batch.map((id) => this.#metadata(id)));
      for (const meta of found) if (meta !== undefined) items.push(meta);
    }
    const last = ids.at(-1);
    const more = xmlValues(xml, "IsTruncated")[0] === "true";
    return more && last ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  /**
   * The metadata of file `id` if its content exists (HeadObject), looked
   * up with the content's ETag, which a read of this version then asks for
   * (`If-Match`). Metadata of another size than the content is another
   * version's (the file is being replaced): looked at again, a few times,
   * then none.
   */
  async stat(id: string): Promise<FileMetadata | undefined> {
    if (!isValidId(id)) return undefined;
    for (let look = 0; look < LOOKS; look++) {
      const [head, meta] = await Promise.all([
        this.#bucket.send({
          method: "HEAD",
          key: contentKey(id),
          expect: [404],
        }),
        this.#metadata(id),
      ]);
      await head.body?.cancel();
      if (!head.ok) return undefined;
      if (meta === undefined) continue;
      if (Number(head.headers.get("content-length")) !== meta.size) continue;
      const etag = head.headers.get("etag");
      if (etag !== null) this.#etags.set(meta, etag);
      return meta;
    }
    return undefined;
  }

  /**
   * GetObject, with `range` passed through as a Range header; `undefined`
   * if there is none, or when `version` (as {@linkcode S3Storage.stat}
   * gave it) is given and the object there is another by now: the GET
   * carries `If-Match` with the ETag of the content `stat` found, and a
   * 412 means it was replaced since (radosgw honours If-Match on GET).
   */
  async read(
    id: string,
    range?: ReadRange,
    version?: FileMetadata,
  ): Promise<ReadableStream<Uint8Array> | undefined> {
    if (!isValidId(id)) return undefined;
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    const etag = version && this.#etags.get(version);
    if (etag !== undefined) headers["if-match"] = etag;
    const res = await this.#bucket.send({
      method: "GET",
      key: contentKey(id),
      headers,
      expect: [404, 412],
    });
    if (res.status === 404 || res.status === 412) {
      await res.body?.cancel();
      return undefined;
    }
    return res.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  /**
   * Deletes file `id` unless another delete claims it first
   * (`s3_delete.ts`): of two at once, one is `true` and the other `false`.
   */
  delete(id: string): Promise<boolean> {
    if (!isValidId(id)) return Promise.resolve(false);
    return deleteStored(this.#bucket, id);
  }

  /**
   * Deletes file `id` if `holds` is true of its metadata, claimed over that
   * very metadata object (`s3_delete.ts`): a file replaced in between is
   * refused as it is now.
   */
  deleteIf(
    id: string,
    holds: (meta: FileMetadata) => boolean,
  ): Promise<ConditionalDeletion> {
    if (!isValidId(id)) return Promise.resolve("missing");
    return deleteStoredIf(this.#bucket, id, holds, () => this.stat(id));
  }

  /**
   * Aborts the multipart uploads of `files/` begun more than `olderThanMs`
   * ago and silent as long (no heartbeat: the ones of a crashed instance),
   * with their metadata objects unless the id is stored (retried since);
   * removes heartbeats as old.
   */
  async sweep(olderThanMs = 0): Promise<number> {
    const beats = await lastBeats(this.#bucket);
    const xml = await this.#bucket.text({
      method: "GET",
      key: "",
      query: { uploads: "", prefix: "files/" },
      answer: "ListMultipartUploadsResult",
    });
    const uploads = [...xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)];
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const [, upload] of uploads) {
      const key = xmlValues(upload!, "Key")[0] ?? "";
      const uploadId = xmlValues(upload!, "UploadId")[0];
      const initiated = Date.parse(xmlValues(upload!, "Initiated")[0] ?? "");
      const id = CONTENT.exec(key)?.[1];
      if (!id || !uploadId || !(initiated <= cutoff)) continue;
      if ((beats.get(id) ?? 0) > cutoff) continue;
      await this.#bucket.run({
        method: "DELETE",
        key,
        query: { uploadId },
        expect: [404],
      });
      // Unless an upload of the same id (a client's retry under its
      // Upload-Id after the crash) was stored since: the metadata object is
      // then that file's, and deleting it lost the file (404, unlisted).
      if (!(await this.#stored(id))) {
        await this.#bucket.run({
          method: "DELETE",
          key: metadataKey(id),
        });
      }
      removed++;
    }
    for (const [id, at] of beats) {
      if (at > cutoff) continue;
      await this.#bucket.run({ method: "DELETE", key: liveKey(id) });
    }
    return removed;
  }

  /**
   * Removes the metadata objects deletes left behind, older than
   * `olderThanMs` (s3_leftovers.ts); how many. Lists the whole bucket:
   * run at start and seldom (`S3_LEFTOVER_SWEEP_MS`), not with every
   * sweep. Stops once `signal` aborts.
   */
  sweepLeftovers(olderThanMs = 0, signal?: AbortSignal): Promise<number> {
    return sweepLeftovers(this.#bucket, olderThanMs, signal);
  }

  /** Whether the content of file `id` is stored (HeadObject). */
  async #stored(id: string): Promise<boolean> {
    const head = await this.#bucket.send({
      method: "HEAD",
      key: contentKey(id),
      expect: [404],
    });
    await head.body?.cancel();
    return head.ok;
  }

  async #metadata(id: string): Promise<FileMetadata | undefined> {
    return (await readMetadataObject(this.#bucket, id))?.meta;
  }
}
