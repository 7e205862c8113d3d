/**
 * The bodies of the file routes, declared once with zod: a page of
 * `GET /files`, the answer to an upload, and the query of `GET /files`.
 * The OpenAPI document's `FileList` and `UploadResult` components, and the
 * types the handlers build their answers with, come from these.
 *
 * @module
 */

import { z } from "zod";
import { FileMetadataSchema } from "../../services/storage/metadata.ts";

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
  maxQueuedBytes: z.int().min(0).describe(
    "High-water mark of the queue, at most its capacity (`UPLOAD_QUEUE_BYTES`).",
  ),
  bound: z.enum(["read", "write"]).describe(
    "`write` when the reader was blocked longer than the writer was idle, " +
      "else `read`.",
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
