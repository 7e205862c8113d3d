/**
 * The settings of uploads and stored files (`services/uploads/`,
 * `services/storage/`): the upload limits and queue, the data folder and
 * the S3 store. Part of the settings table, `settings.ts`.
 *
 * @module
 */

import {
  bool,
  bucketName,
  httpUrl,
  integer,
  type Setting,
  setting,
  text,
  token,
} from "./config_values.ts";

/** The upload and storage settings, in the order `--help` lists them. */
export const UPLOAD_SETTINGS = [
  setting({
    key: "s3Endpoint",
    env: "S3_ENDPOINT",
    flag: "s3-endpoint",
    default: undefined,
    help:
      "when set, uploads are stored in this S3-compatible store (needs S3_BUCKET and AWS_* credentials) instead of DATA_DIR; --allow-net must admit its host",
    parse: httpUrl,
  }),
  setting({
    key: "s3Bucket",
    env: "S3_BUCKET",
    flag: "s3-bucket",
    default: undefined,
    help: "the bucket of the uploads (with S3_ENDPOINT)",
    parse: bucketName,
  }),
  setting({
    key: "s3Region",
    env: "S3_REGION",
    flag: "s3-region",
    default: "us-east-1",
    help: "the region requests are signed for",
    parse: text,
  }),
  setting({
    key: "s3ForcePathStyle",
    env: "S3_FORCE_PATH_STYLE",
    flag: "s3-force-path-style",
    default: "true",
    help:
      "true: ENDPOINT/BUCKET/key (Ceph, MinIO); false: BUCKET.ENDPOINT/key (virtual-hosted)",
    parse: bool,
  }),
  setting({
    key: "s3PartBytes",
    env: "S3_PART_BYTES",
    flag: "s3-part-bytes",
    default: "8388608",
    help: "size of an upload's multipart parts (S3 needs 5 MiB or more)",
    parse: integer(5 * 1024 * 1024, 5 * 1024 * 1024 * 1024),
  }),
  setting({
    key: "s3PartsInFlight",
    env: "S3_PARTS_IN_FLIGHT",
    flag: "s3-parts-in-flight",
    default: "4",
    help:
      "parts of one upload sent at once; an upload holds about UPLOAD_QUEUE_BYTES + this x S3_PART_BYTES (the part filling takes a buffer a finished part gave back)",
    parse: integer(1, 64),
  }),
  setting({
    key: "s3TimeoutMs",
    env: "S3_TIMEOUT_MS",
    flag: "s3-timeout-ms",
    default: "30000",
    help:
      "longest wait for the object store: for an answer to one request (a part's upload included), and between two chunks of a download; past it uploads, listing and downloads answer 503",
    parse: integer(1, 600_000),
  }),
  setting({
    key: "s3LeftoverSweepMs",
    env: "S3_LEFTOVER_SWEEP_MS",
    flag: "s3-leftover-sweep-ms",
    default: "3600000",
    help:
      "with S3_ENDPOINT, how often the bucket is listed for the metadata objects failed deletes left behind (at start too); 0: at start only",
    parse: integer(0, 7 * 86_400_000),
  }),
  setting({
    key: "awsAccessKeyId",
    env: "AWS_ACCESS_KEY_ID",
    flag: "aws-access-key-id",
    default: undefined,
    help: "the S3 access key (with S3_ENDPOINT)",
    parse: text,
    secret: true,
  }),
  setting({
    key: "awsSecretAccessKey",
    env: "AWS_SECRET_ACCESS_KEY",
    flag: "aws-secret-access-key",
    default: undefined,
    help: "the S3 secret key (with S3_ENDPOINT)",
    parse: text,
    secret: true,
  }),
  setting({
    key: "dataDir",
    env: "DATA_DIR",
    flag: "data-dir",
    default: "./data",
    help: "uploads live in DATA_DIR/files",
    parse: text,
  }),
  setting({
    key: "maxUploadBytes",
    env: "MAX_UPLOAD_BYTES",
    flag: "max-upload-bytes",
    default: "1073741824",
    help: "larger uploads get 413",
    parse: integer(0),
  }),
  setting({
    key: "uploadQueueBytes",
    env: "UPLOAD_QUEUE_BYTES",
    flag: "upload-queue-bytes",
    default: "8388608",
    help:
      "capacity in bytes of the reader->writer queue; the reader waits while it is full",
    parse: integer(1024),
  }),
  setting({
    key: "uploadWriteBytes",
    env: "UPLOAD_WRITE_BYTES",
    flag: "upload-write-bytes",
    default: undefined,
    help:
      "the reader fills buffers of up to this size, and the writer hands each to the storage at once (on disk in write calls of 256 KiB); unset: 2097152 on local disk, 1048576 with S3_ENDPOINT",
    parse: integer(1024, 256 * 1024 * 1024),
  }),
  setting({
    key: "uploadIdleTimeoutMs",
    env: "UPLOAD_IDLE_TIMEOUT_MS",
    flag: "upload-idle-timeout-ms",
    default: "30000",
    help: "an upload with no data for this long gets 408",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "downloadIdleTimeoutMs",
    env: "DOWNLOAD_IDLE_TIMEOUT_MS",
    flag: "download-idle-timeout-ms",
    default: "60000",
    help:
      "a download whose client reads nothing for this long is closed (its file released); so is a large answer from memory (over 16 KiB)",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "maxConcurrentUploads",
    env: "MAX_CONCURRENT_UPLOADS",
    flag: "max-concurrent-uploads",
    default: "64",
    help: "more uploads at once get 503 with Retry-After",
    parse: integer(1, 100_000),
  }),
  setting({
    key: "maxUploadsPerClient",
    env: "MAX_UPLOADS_PER_CLIENT",
    flag: "max-uploads-per-client",
    default: "8",
    help:
      "more uploads at once from one client address get 429 with Retry-After (0 = no cap)",
    parse: integer(0, 100_000),
  }),
  setting({
    key: "uploadMinBytesPerSecond",
    env: "UPLOAD_MIN_BYTES_PER_SECOND",
    flag: "upload-min-bytes-per-second",
    default: "1024",
    help:
      "an upload averaging less, once past UPLOAD_RATE_WINDOW_MS, gets 408 (0 = no floor)",
    parse: integer(0),
  }),
  setting({
    key: "uploadRateWindowMs",
    env: "UPLOAD_RATE_WINDOW_MS",
    flag: "upload-rate-window-ms",
    default: "10000",
    help: "grace period before UPLOAD_MIN_BYTES_PER_SECOND applies",
    parse: integer(1, 3_600_000),
  }),
  setting({
    key: "uploadToken",
    env: "UPLOAD_TOKEN",
    flag: "upload-token",
    default: undefined,
    help:
      "when set, POST/PUT/DELETE on /files (and POST /file) and GET /uploads(/events) need Authorization: Bearer <token> (16+ characters)",
    parse: token,
    secret: true,
  }),
  setting({
    key: "maxUploadWatchers",
    env: "MAX_UPLOAD_WATCHERS",
    flag: "max-upload-watchers",
    default: "64",
    help: "most subscribers of GET /uploads/events at once; more get 503",
    parse: integer(1, 100_000),
  }),
  setting({
    key: "maxUploadWatchersPerClient",
    env: "MAX_UPLOAD_WATCHERS_PER_CLIENT",
    flag: "max-upload-watchers-per-client",
    default: "8",
    help: "most subscribers of GET /uploads/events at once from one client " +
      "address; more get 429 (0 = no cap)",
    parse: integer(0, 100_000),
  }),
] as const satisfies readonly Setting[];
