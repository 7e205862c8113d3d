/**
 * Tools of the upload benchmarks: files of random bytes, `curl -T` uploads
 * with their timing and answer, resident-memory sampling, and the disk
 * chores between rounds.
 *
 * @module
 */

import { join } from "node:path";
import { rssOf } from "./lib.ts";

const MiB = 1024 * 1024;
/** The service's default `UPLOAD_QUEUE_BYTES`, which the bench keeps. */
export const UPLOAD_QUEUE_BYTES = 8 * MiB;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `bytes` random bytes to `path`, 1 MiB at a time. */
export async function makeRandomFile(
  path: string,
  bytes: number,
): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  const piece = new Uint8Array(MiB);
  for (let left = bytes; left > 0; left -= piece.byteLength) {
    for (let offset = 0; offset < piece.byteLength; offset += 65536) {
      crypto.getRandomValues(piece.subarray(offset, offset + 65536));
    }
    const part = piece.subarray(0, Math.min(piece.byteLength, left));
    let written = 0;
    while (written < part.byteLength) {
      written += await file.write(part.subarray(written));
    }
  }
}

/** One curl upload. */
export interface CurlUpload {
  status: number;
  seconds: number;
  bytes: number;
  mibPerSecond: number;
  /** The parsed response body (the 201 JSON). */
  body: Record<string, unknown> | undefined;
  /** curl's own CPU time (user + system), ms: it shares the cores. */
  cpuMs: number;
}

// curl under sh, whose `times` then prints curl's CPU (the children's user
// and system time, the second line) to stderr: no extra tool needed.
const TIMED = 'curl "$@"; status=$?; times >&2; exit $status';

/** curl's user + system ms from the `times` lines at the end of `stderr`. */
export function childCpuMs(stderr: string): number {
  const lines = stderr.trimEnd().split("\n");
  const times = [...(lines.at(-1) ?? "").matchAll(/(\d+)m([\d.]+)s/g)];
  if (times.length !== 2) throw new Error(`no times in: ${stderr}`);
  return times.reduce(
    (ms, [, min, sec]) => ms + (Number(min) * 60 + Number(sec)) * 1000,
    0,
  );
}

/** `curl -T file url` (a PUT); resolves status, time and the JSON answer. */
export async function curlUpload(
  file: string,
  url: string,
  options: { rate?: string; out: string } = { out: "/dev/null" },
): Promise<CurlUpload> {
  const args = [
    "-s",
    "-S",
    // No `Expect: 100-continue` round trip: both servers take the body.
    "-H",
    "Expect:",
    "-H",
    "Content-Type: application/octet-stream",
    "-o",
    options.out,
    "-w",
    "%{http_code} %{time_total} %{size_upload}",
    "-T",
    file,
  ];
  if (options.rate) args.push("--limit-rate", options.rate);
  args.push(url);
  const { stdout, stderr, success } = await new Deno.Command("sh", {
    args: ["-c", TIMED, "sh", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  const errors = new TextDecoder().decode(stderr);
  const [code, time, size] = text.split(" ").map(Number);
  if (!success || code === undefined || !Number.isFinite(code)) {
    throw new Error(`curl failed (${text}): ${errors}`);
  }
  let body: Record<string, unknown> | undefined;
  if (options.out !== "/dev/null") {
    try {
      body = JSON.parse(await Deno.readTextFile(options.out));
    } catch {
      body = undefined;
    }
    await Deno.remove(options.out).catch(() => {});
  }
  const seconds = time ?? NaN;
  const bytes = size ?? NaN;
  return {
    status: code,
    seconds,
    bytes,
    mibPerSecond: bytes / MiB / seconds,
    body,
    cpuMs: childCpuMs(errors),
  };
}

/**
 * Samples the RSS of `pid` every `periodMs` until `stop()` or the process
 * ends; resolves the peak.
 */
export function sampleRss(
  pid: number,
  periodMs: number,
): { stop(): Promise<number> } {
  let running = true;
  let peak = 0;
  // A process that ended has no /proc entry: sampling stops with it.
  const sample = () =>
    rssOf(pid).then((rss) => {
      // An exited, unreaped process has no VmRSS (NaN).
      if (Number.isFinite(rss)) peak = Math.max(peak, rss);
      else running = false;
    }, () => {
      running = false;
    });
  const loop = (async () => {
    while (running) {
      await sample();
      await delay(periodMs);
    }
    await sample();
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await loop;
      return peak;
    },
  };
}

export async function emptyDir(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    await Deno.remove(join(dir, entry.name), { recursive: true });
  }
}

export async function syncDisks(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
}
