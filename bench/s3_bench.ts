/**
 * Benchmark of uploads into S3 (issue 10): a big file (1 GiB) sent with
 * `curl -T` to the service's `POST /files` with `S3_*` set, against a plain
 * multipart upload of the same bytes into the same radosgw with the same
 * client code (`bench/s3_plain_upload.ts`: the service's `S3Bucket`,
 * aws4fetch, 8 MiB parts, 4 in flight). Rounds alternate, the medians
 * count; target service/plain >= 0.8. The service's peak RSS is sampled
 * (target: idle + queue + parts in flight × part size + 32 MiB; an upload
 * holds that many part buffers, the one filling included, and the 32 MiB
 * cover the reader's and writer's buffers, the hash's pending bytes and
 * the runtime).
 *
 * A private single-node Ceph (`tests/fixtures/ceph.ts`) is started and
 * stopped by the benchmark.
 *
 * @module
 */

import { join } from "node:path";
import { startCeph } from "../tests/fixtures/ceph.ts";
import { median, rssOf, serviceCommand, startServer } from "./lib.ts";
import {
  curlUpload,
  makeRandomFile,
  sampleRss,
  UPLOAD_QUEUE_BYTES,
} from "./upload.ts";

const MiB = 1024 * 1024;
const PLAIN = new URL("./s3_plain_upload.ts", import.meta.url).pathname;

/** Figures of the S3 upload benchmark. */
export interface S3UploadResult {
  bytes: number;
  rounds: number;
  partBytes: number;
  partsInFlight: number;
  queueBytes: number;
  /** Median MiB/s of each side. */
  serviceMiBPerSecond: number;
  plainMiBPerSecond: number;
  /** service / plain (medians); target >= 0.8. */
  ratio: number;
  serviceIdleRssBytes: number;
  servicePeakRssBytes: number;
  /** Peak RSS of the plain upload's whole process (for comparison). */
  plainPeakRssBytes: number;
  runs: { service: number[]; plain: number[] };
}

/** Runs the plain upload; resolves its MiB/s and its peak RSS. */
async function plainUpload(
  env: Record<string, string>,
  file: string,
  key: string,
  options: { partBytes: number; partsInFlight: number },
): Promise<{ mibPerSecond: number; peakRssBytes: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      PLAIN,
      file,
      key,
      "--part-bytes",
      String(options.partBytes),
      "--parts-in-flight",
      String(options.partsInFlight),
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const sampler = sampleRss(child.pid, 20);
  const { stdout, stderr, success } = await child.output();
  const peakRssBytes = await sampler.stop();
  if (!success) {
    throw new Error(`plain upload failed: ${new TextDecoder().decode(stderr)}`);
  }
  const { bytes, seconds } = JSON.parse(new TextDecoder().decode(stdout));
  return { mibPerSecond: bytes / MiB / seconds, peakRssBytes };
}

/** Runs the benchmark (needs Ceph and curl). */
export async function benchS3Upload(
  options: { bytes?: number; rounds?: number } = {},
): Promise<S3UploadResult> {
  const { bytes = 1024 * MiB, rounds = 2 } = options;
  const partBytes = 8 * MiB;
  const partsInFlight = 4;
  const tmp = await Deno.makeTempDir({ prefix: "bench-s3-" });
  try {
    const file = join(tmp, "big.bin");
    await makeRandomFile(file, bytes);
    await using ceph = await startCeph();
    const env = {
      ...ceph.env,
      S3_PART_BYTES: String(partBytes),
      S3_PARTS_IN_FLIGHT: String(partsInFlight),
    };
    await using service = await startServer(
      serviceCommand([
        "--upstream-url",
        "http://127.0.0.1:9",
        "--data-dir",
        join(tmp, "data"),
        "--max-upload-bytes",
        String(bytes * 2),
        "--upload-queue-bytes",
        String(UPLOAD_QUEUE_BYTES),
      ]),
      { env },
    );
    const small = join(tmp, "small.bin");
    await makeRandomFile(small, 4 * MiB);
    const warm = await curlUpload(small, `${service.url}/files`);
    if (warm.status !== 201) throw new Error(`warm-up got ${warm.status}`);
    await plainUpload(env, small, "bench/warm", { partBytes, partsInFlight });
    const idle = await rssOf(service.pid);
    let peak = idle;
    let plainPeak = 0;
    const runs = { service: [] as number[], plain: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const plain = await plainUpload(env, file, `bench/plain-${round}`, {
        partBytes,
        partsInFlight,
      });
      runs.plain.push(plain.mibPerSecond);
      plainPeak = Math.max(plainPeak, plain.peakRssBytes);
      const sampler = sampleRss(service.pid, 20);
      let upload;
      try {
        upload = await curlUpload(file, `${service.url}/files`);
      } finally {
        peak = Math.max(peak, await sampler.stop());
      }
      if (upload.status !== 201) {
        throw new Error(`service upload got ${upload.status}`);
      }
      runs.service.push(upload.mibPerSecond);
    }
    const serviceMiBPerSecond = median(runs.service);
    const plainMiBPerSecond = median(runs.plain);
    return {
      bytes,
      rounds,
      partBytes,
      partsInFlight,
      queueBytes: UPLOAD_QUEUE_BYTES,
      serviceMiBPerSecond,
      plainMiBPerSecond,
      ratio: serviceMiBPerSecond / plainMiBPerSecond,
      serviceIdleRssBytes: idle,
      servicePeakRssBytes: peak,
      plainPeakRssBytes: plainPeak,
      runs,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  const bytes = Number(Deno.args[0] ?? 256 * MiB);
  // deno-lint-ignore no-console
  console.log(
    JSON.stringify(await benchS3Upload({ bytes, rounds: 1 }), null, 2),
  );
}
