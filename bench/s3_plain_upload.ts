/**
 * The baseline of the S3 upload benchmark: a plain multipart upload of a
 * file into a bucket with the service's own S3 client code
 * (`services/storage/s3_bucket.ts`: `npm:aws4fetch`, no retries), parts of
 * `--part-bytes` (8 MiB) read from the file, `--parts-in-flight` (4) at
 * once, as the service sends them. No HTTP server, queue or hash: what the
 * store and the client cost alone. Prints `{ "bytes", "seconds" }`.
 *
 * Run: `deno run -A bench/s3_plain_upload.ts <file> <key>` with the
 * service's `S3_ENDPOINT`, `S3_BUCKET`, `S3_REGION`, `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` in the environment.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { S3Bucket } from "../services/storage/s3_bucket.ts";
import { xmlValue } from "../services/storage/s3_xml.ts";

/** Reads into `buffer` until it is full or the file ends. */
async function readFull(
  file: Deno.FsFile,
  buffer: Uint8Array,
): Promise<number> {
  let filled = 0;
  while (filled < buffer.byteLength) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/** Uploads `path` as `key` in parts; resolves the bytes sent. */
export async function plainMultipartUpload(
  bucket: S3Bucket,
  path: string,
  key: string,
  options: { partBytes: number; partsInFlight: number },
): Promise<number> {
  const { partBytes, partsInFlight } = options;
  const xml = await bucket.text({
    method: "POST",
    key,
    query: { uploads: "" },
  });
  const uploadId = xmlValue(xml, "UploadId");
  if (!uploadId) throw new Error("no UploadId");
  using file = await Deno.open(path);
  const etags: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let total = 0;
  for (let number = 1;; number++) {
    const part = new Uint8Array(partBytes);
    const n = await readFull(file, part);
    if (n === 0 && number > 1) break;
    total += n;
    const sending = bucket.send({
      method: "PUT",
      key,
      query: { partNumber: String(number), uploadId },
      body: n === partBytes ? part : part.slice(0, n),
    }).then(async (res) => {
      await res.body?.cancel();
      etags[number - 1] = res.headers.get("etag") ?? "";
    });
    const tracked = sending.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    while (inFlight.size >= partsInFlight) await Promise.race(inFlight);
    if (n < partBytes) break;
  }
  await Promise.all(inFlight);
  const parts = etags.map((etag, i) =>
    `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`
  ).join("");
  await bucket.text({
    method: "POST",
    key,
    query: { uploadId },
    body: `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`,
  });
  return total;
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      "part-bytes": { type: "string", default: String(8 * 1024 * 1024) },
      "parts-in-flight": { type: "string", default: "4" },
    },
  });
  const [path, key] = positionals;
  if (!path || !key) throw new Error("usage: s3_plain_upload.ts <file> <key>");
  const env = (name: string) => {
    const value = Deno.env.get(name);
    if (value === undefined) throw new Error(`${name} is not set`);
    return value;
  };
  const bucket = new S3Bucket({
    endpoint: new URL(env("S3_ENDPOINT")),
    bucket: env("S3_BUCKET"),
    region: env("S3_REGION"),
    accessKeyId: env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  });
  const started = performance.now();
  const bytes = await plainMultipartUpload(bucket, path, key, {
    partBytes: Number(values["part-bytes"]),
    partsInFlight: Number(values["parts-in-flight"]),
  });
  const seconds = (performance.now() - started) / 1000;
  // deno-lint-ignore no-console
  console.log(JSON.stringify({ bytes, seconds }));
}
