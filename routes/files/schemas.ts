/**
 * The bodies of the file routes, declared once with zod: a page of
 * `GET /files`, the answer to an upload, and the query of `GET /files`.
 * The OpenAPI document's `FileList` and `UploadResult` components, and the
 * types the handlers build their answers with, come from these.
 *
 * @module
 */

import { z } from "zod";
import {
  FileIdSchema,
  FileMetadataSchema,
} from "../../services/storage/metadata.ts";

/** One page of `GET /files`. */
export const FileListSchema = z.object({
  items: z.array(FileMetadataSchema),
  nextCursor: z.string()
    .describe("Present when more files follow; pass it as `cursor`.")
    .optional(),
});

const ms = (description: string) => z.number().min(0).describe(description);

/** The answer to an upload: the stored file and where the time went. */
export const UploadResultSchema = FileMetadataSchema.extend({
  durationMs: ms("From the first byte to the end of the commit."),
  bytesPerSecond: z.number().min(0),
  readerWaitMs: ms("Reader time in body reads (the network)."),
  readerBlockedMs: ms(
    "Reader time in `put` on a full queue (waiting for the storage).",
  ),
  writerWriteMs: ms("Writer time in storage writes."),
  writerIdleMs: ms(
    "Writer time in `get` on an empty queue (waiting for the body).",
  ),
  writerHashWaitMs: ms(
    "Writer time waiting for the SHA-256 to catch up (it hashes on another " +
      "thread, a few MiB behind the writes at most).",
  ),
  maxQueuedBytes: z.int().min(0).describe(
    "High-water mark of the queue, at most its capacity (`UPLOAD_QUEUE_BYTES`).",
  ),
  bound: z.enum(["read", "write", "hash"]).describe(
    "`read` unless the reader was blocked longer than the writer was idle; " +
      "then `hash` when the writer waited longer on the SHA-256 than in " +
      "storage writes, else `write`.",
  ),
});

/** The answer to an upload. */
export type UploadResultBody = z.infer<typeof UploadResultSchema>;

/** Files in a page of `GET /files` when the query gives no `limit`. */
export const DEFAULT_LIST_LIMIT = 100;

/** The query of `GET /files`. */
export const FileListQuerySchema = z.object({
  limit: z.int().min(1).max(1000).default(DEFAULT_LIST_LIMIT)
    .describe("Most files in one page."),
  cursor: z.string().describe(
    "The `nextCursor` of the previous page; empty or left out: the first " +
      "page.",
  ).optional(),
});

/** One upload in flight: `GET /uploads` items and `progress` events. */
export const UploadProgressSchema = z.object({
  id: FileIdSchema,
  startedAt: z.string().meta({ format: "date-time" })
    .describe("When the upload was admitted."),
  elapsedMs: ms("Since the upload was admitted."),
  bytesReceived: z.int().min(0).describe("Body bytes received so far."),
  declaredLength: z.int().min(0)
    .describe("The declared `Content-Length`, when there was one.")
    .optional(),
  bytesPerSecond: z.int().min(0).describe(
    "Body rate over the last second, a form's fields and framing " +
      "included (over the time since the previous look, or the start, " +
      "when nobody watches the events).",
  ),
  readerWaitMs: ms("Reader time in body reads so far (the network)."),
  readerBlockedMs: ms("Reader time blocked on a full queue so far."),
  writerWriteMs: ms("Writer time in storage writes so far."),
  writerIdleMs: ms("Writer time idle on an empty queue so far."),
  writerHashWaitMs: ms("Writer time waiting for the SHA-256 so far."),
  queuedBytes: z.int().min(0).describe("Bytes in the queue now."),
  queueCapacityBytes: z.int().min(0)
    .describe("The queue's capacity (`UPLOAD_QUEUE_BYTES`)."),
  maxQueuedBytes: z.int().min(0).describe("High-water mark so far."),
  bound: z.enum(["read", "write", "hash"]).describe(
    "What bounds the upload so far, by the same rule as the final verdict.",
  ),
});

/** The body of `GET /uploads`. */
export const UploadListSchema = z.object({
  items: z.array(UploadProgressSchema).describe("Oldest first."),
});

/** The body of `GET /uploads`. */
export type UploadListBody = z.infer<typeof UploadListSchema>;

/** The data of a `failed` event: the figures so far and the answer given. */
export const UploadFailedSchema = UploadProgressSchema.extend({
  outcome: z.string().describe(
    "Why, as counted in `uploads_total` (e.g. `aborted`, `too_large`, " +
      "`timeout`, `stopped`).",
  ),
  status: z.int().min(400).max(599).describe("The status of the answer."),
});

/** The query of `GET /uploads/events`. */
export const UploadEventsQuerySchema = z.object({
  id: FileIdSchema.describe(
    "Only this upload's events (the `Upload-Id` its client chose).",
  ).optional(),
});
