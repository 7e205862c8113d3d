/**
 * One upload into an {@linkcode S3Storage}: a multipart upload of
 * `files/<id>`. Writes fill a part buffer of `partBytes` (the first grows
 * to it); each full part is uploaded as bytes while the next fills, at most
 * `partsInFlight` at once (a write waits for a slot: that wait reaches the
 * pipeline's bounded queue). The next part's buffer is taken only once a
 * slot is free, so at most `partsInFlight` part buffers exist: the parts
 * uploading and the one filling share them.
 *
 * The commit writes the metadata object `meta/<id>.json` first, then
 * completes the multipart upload: S3 cannot add metadata at completion,
 * and a copy with new metadata after it would leave the object visible,
 * unverified, for a while (and copy every byte again). The content key
 * appearing is the commit point; a metadata object without content is
 * never listed and is removed by the abort or the sweep. While it runs,
 * the upload writes a heartbeat (`s3_heartbeat.ts`), so that no other
 * instance's sweep takes it for a crashed one.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { committedMetadata, type FileMetadata } from "./metadata.ts";
import { type S3Bucket, S3Error } from "./s3_bucket.ts";
import { Heartbeat } from "./s3_heartbeat.ts";
import { contentKey, findHolder, hasContent, metadataKey } from "./s3_keys.ts";
import { completionRefusal, partRefusal } from "./s3_upload_gone.ts";
import { textOf } from "./s3_errors.ts";
import { completeXml, xmlValue } from "./s3_xml.ts";
import {
  FileIdTakenError,
  type StorageUpload,
  type UploadContent,
} from "./storage.ts";

const FIRST_PART_START_BYTES = 64 * 1024; // then doubles: `#roomFor`

/** Sizes of an {@linkcode S3Upload}. */
export interface S3UploadOptions {
  /** Size of every part but the last. */
  partBytes: number;
  /** Most parts uploading at once. */
  partsInFlight: number;
  /** How often the upload marks itself alive (see `s3_heartbeat.ts`). */
  heartbeatMs: number;
}

/** A multipart upload in progress; see {@linkcode S3Upload.open}. */
export class S3Upload implements StorageUpload {
  /** The id the file gets once committed. */
  readonly id: string;
  readonly #bucket: S3Bucket;
  readonly #uploadId: string;
  readonly #options: S3UploadOptions;
  readonly #etags: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  // Part buffers whose request ended, reused: allocating one per part left
  // the collector behind (RSS grew by hundreds of MiB over a 256 MiB upload).
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  // Aborts the parts still uploading once the upload is given up.
  readonly #stop = new AbortController();
  readonly #heartbeat: Heartbeat;
  // The part filling; taken at its first byte, once a slot is free.
  #part: Uint8Array<ArrayBuffer> | undefined;
  #filled = 0;
  #failure: { error: unknown } | undefined;
  #state: "open" | "committing" | "closed" = "open";
  #claimed = false;
  // The claim's bytes once its PUT went out (see `#claim`).
  #claimSent: Uint8Array | undefined;

  private constructor(
    bucket: S3Bucket,
    id: string,
    uploadId: string,
    options: S3UploadOptions,
  ) {
    this.#bucket = bucket;
    this.id = id;
    this.#uploadId = uploadId;
    this.#options = options;
    this.#heartbeat = new Heartbeat(bucket, id, options.heartbeatMs);
  }

  /** CreateMultipartUpload of `files/<id>`. */
  static async open(
    bucket: S3Bucket,
    id: string,
    options: S3UploadOptions,
  ): Promise<S3Upload> {
    const xml = await bucket.text({
      method: "POST",
      key: contentKey(id),
      query: { uploads: "" },
      headers: { "x-amz-meta-id": id },
    });
    const uploadId = xmlValue(xml, "UploadId");
    if (!uploadId) throw new S3Error(200, undefined, "No UploadId in answer");
    return new S3Upload(bucket, id, uploadId, options);
  }

  /** Copies `chunk` into parts, uploading each full one. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== "open") throw new TypeError("The upload is closed");
    let offset = 0;
    while (offset < chunk.byteLength) {
      // Aborted while this write waited for a slot: stop here.
      if (this.#state !== "open") throw new TypeError("The upload is closed");
      this.#throwIfFailed();
      const part = this.#roomFor(chunk.byteLength - offset);
      const n = Math.min(
        part.byteLength - this.#filled,
        chunk.byteLength - offset,
      );
      part.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.#options.partBytes) await this.#flush();
    }
  }

  /**
   * Uploads the last part, waits for every part, writes the metadata
   * object, then completes: `files/<id>` appears, whole.
   */
  async commit(content: UploadContent): Promise<FileMetadata> {
    if (this.#state !== "open") throw new TypeError("The upload is closed");
    this.#state = "committing";
    // S3 needs at least one part, even an empty one.
    if (this.#filled > 0 || this.#etags.length === 0) await this.#flush();
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
    const metadata = committedMetadata(this.id, content);
    await this.#claim(new TextEncoder().encode(JSON.stringify(metadata)));
    await this.#complete();
    this.#state = "closed";
    this.#freeParts();
    await this.#heartbeat.stop();
    return metadata;
  }

  /**
   * Writes the metadata object, the claim on the id: only if absent, so of
   * two uploads of one id (on two instances) one wins, and the other
   * neither replaces the winner's file nor removes it on abort. A 412 may
   * also be this claim's own PUT sent again (the store client sends a PUT
   * again when its connection broke, `S3Bucket`'s transmit; the first one
   * may have been stored): the object holding these very bytes (the commit
   * time to the millisecond among them) is then this upload's. That was a
   * 409 "another upload was stored first", and the object left behind made
   * every retry of the id 409 as well. Another object may be a leftover
   * (see {@linkcode findHolder}): it is removed, and the claim
   * made once more.
   *
   * @throws {FileIdTakenError} when another upload holds the id.
   */
  async #claim(metadata: Uint8Array<ArrayBuffer>): Promise<void> {
    // Until an answer says otherwise the claim may be stored: an abort
    // then looks (see `abort`).
    this.#claimSent = metadata;
    for (let attempt = 0;; attempt++) {
      const status = await this.#bucket.run({
        method: "PUT",
        key: metadataKey(this.id),
        headers: { "content-type": "application/json", "if-none-match": "*" },
        body: metadata,
        expect: [412],
      });
      if (status !== 412 || await this.#holdsClaim(metadata)) break;
      // A second 412 is a claim made since the leftover went: not taken.
      const holder = attempt === 0
        ? await findHolder(this.#bucket, this.id, this.#uploadId)
        : undefined;
      if (holder !== "none") {
        this.#claimSent = undefined;
        // The other claim comes just before its completion, which may
        // fail yet: "stored" only once its content is there (seen by
        // findHolder already, or looked at now: one HeadObject either way).
        const stored = holder === "content" ||
          await hasContent(this.#bucket, this.id);
        throw new FileIdTakenError(this.id, stored ? "stored" : "running");
      }
      await this.#bucket.run({ method: "DELETE", key: metadataKey(this.id) });
    }
    this.#claimed = true;
  }

  /** Whether the metadata object holds exactly `metadata`. */
  async #holdsClaim(metadata: Uint8Array): Promise<boolean> {
    const res = await this.#bucket.send({
      method: "GET",
      key: metadataKey(this.id),
      expect: [404],
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return false;
    }
    const stored = new Uint8Array(await res.arrayBuffer());
    return Buffer.from(stored).equals(metadata);
  }

  /**
   * AbortMultipartUpload, and once the commit claimed the id the metadata
   * object and the content too; so also when the claim was sent and no
   * answer came (it may be stored), if the object is this upload's. The
   * sweep takes what a failure here leaves.
   */
  async abort(): Promise<void> {
    const sent = this.#claimed ? undefined : this.#claimSent;
    const claimed = this.#claimed ||
      (sent !== undefined && await this.#holdsClaim(sent).catch(() => false));
    this.#state = "closed";
    this.#stop.abort(new Error("upload aborted"));
    await Promise.allSettled(this.#inFlight);
    this.#freeParts();
    await Promise.all([
      this.#heartbeat.abort(),
      this.#bucket.run({
        method: "DELETE",
        key: contentKey(this.id),
        query: { uploadId: this.#uploadId },
        expect: [404],
      }),
    ]);
    if (!claimed) return;
    await this.#bucket.run({
      method: "DELETE",
      key: metadataKey(this.id),
    });
    await this.#bucket.run({
      method: "DELETE",
      key: contentKey(this.id),
    });
  }

  async #complete(): Promise<void> {
    const key = contentKey(this.id);
    const uploadId = this.#uploadId;
    // A 404 or 500 may be the upload aborted from outside after its last
    // part: looked into before the store is called down for it.
    const res = await this.#bucket.send({
      method: "POST",
      key,
      query: { uploadId },
      headers: { "content-type": "application/xml" },
      body: completeXml(this.#etags),
      expect: [404, 500],
    });
    if (!res.ok) {
      throw await completionRefusal(res, this.#bucket, {
        key,
        uploadId,
        id: this.id,
      });
    }
    const xml = await textOf(res);
    // A 200 whose body is an error: S3 may fail a completion late.
    const code = xmlValue(xml, "Code");
    if (code) throw new S3Error(200, code, `Completion failed: ${code}`);
  }

  /** A free part buffer, or a new one (the first part's starts small). */
  #takePart(): Uint8Array<ArrayBuffer> {
    const { partBytes } = this.#options;
    const size = this.#etags.length === 0
      ? Math.min(FIRST_PART_START_BYTES, partBytes)
      : partBytes;
    return this.#free.pop() ?? new Uint8Array(size);
  }

  /**
   * The part filling, grown (doubling, up to `partBytes`) till `wanted` more
   * bytes fit. A whole part at once, zeroed by the allocator, was resident
   * for a file of 3 bytes too (64 such at once on radosgw: RSS 105 -> 590 MB).
   */
  #roomFor(wanted: number): Uint8Array<ArrayBuffer> {
    const part = this.#part ??= this.#takePart();
    const { partBytes } = this.#options;
    if (
      part.byteLength >= partBytes || part.byteLength - this.#filled >= wanted
    ) {
      return part;
    }
    let size = part.byteLength;
    while (size < partBytes && size - this.#filled < wanted) size *= 2;
    const grown = new Uint8Array(Math.min(size, partBytes));
    grown.set(part.subarray(0, this.#filled));
    part.buffer.transfer(0); // freed now, not when collected
    return this.#part = grown;
  }

  /** Starts the upload of the filled part; waits while all slots are taken. */
  async #flush(): Promise<void> {
    const part = this.#part ?? this.#takePart();
    const body = part.subarray(0, this.#filled);
    const number = this.#etags.length + 1;
    this.#etags.push("");
    const sending = this.#sendPart(number, body).then(
      (etag) => {
        this.#etags[number - 1] = etag;
      },
      (error) => {
        this.#failure ??= { error };
      },
    ).finally(() => {
      this.#inFlight.delete(sending);
      this.#free.push(part);
    });
    this.#inFlight.add(sending);
    // The next part's buffer is taken at its first byte, after this wait:
    // taken here, it was a buffer more than the parts in flight (8 MiB of
    // the S3 bench's peak; reused or zeroed, its pages were resident).
    this.#part = undefined;
    this.#filled = 0;
    while (this.#inFlight.size >= this.#options.partsInFlight) {
      await Promise.race(this.#inFlight);
    }
  }

  async #sendPart(
    number: number,
    body: Uint8Array<ArrayBuffer>,
  ): Promise<string> {
    const res = await this.#bucket.send({
      method: "PUT",
      key: contentKey(this.id),
      query: { partNumber: String(number), uploadId: this.#uploadId },
      body,
      signal: this.#stop.signal,
    }).catch(async (error) => {
      throw await partRefusal(error, this.#bucket, this.id);
    });
    await res.body?.cancel();
    const etag = res.headers.get("etag");
    if (!etag) throw new S3Error(res.status, undefined, "Part without ETag");
    return etag;
  }

  /**
   * Returns the part buffers' memory now (every request ended): left to the
   * collector, one upload's 8 MiB parts were still held when the next one
   * allocated its own, and glibc's heap grew by 30-40 MiB an upload.
   */
  #freeParts(): void {
    for (const part of [this.#part, ...this.#free.splice(0)]) {
      part?.buffer.transfer(0);
    }
    this.#part = undefined;
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
