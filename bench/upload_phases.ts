/**
 * Parts 1 and 2 of the upload benchmark (`upload.ts`), against servers
 * already running: the warm-up, the throughput rounds alternating between
 * the servers, and many slow clients at once to the service.
 *
 * @module
 */

import { join } from "node:path";
import { type BenchServer, rssOf } from "./lib.ts";
import {
  type CurlUpload,
  curlUpload,
  emptyDir,
  sampleRss,
  syncDisks,
} from "./upload_tools.ts";
import { round, throughputRound } from "./upload_rounds.ts";
import { hashCeiling } from "./hash_ceiling.ts";
import type { Runs, UploadBenchResult } from "./upload_result.ts";

/** A server of parts 1 and 2: where it takes uploads, where it stores them. */
export interface Peer {
  server: BenchServer;
  path: string;
  dir: string;
}

/** The servers of parts 1 and 2. */
export interface Peers {
  service: Peer;
  baseline: Peer;
  baselineFsync: Peer;
  fastApi: Peer | undefined;
}

/** What the phases read of the benchmark's settings. */
export interface PhaseSettings {
  rounds: number;
  fsyncBaseline: boolean;
  sampleMs: number;
  /** The pause before each throughput round (`RoundConditions`), ms. */
  settleMs: number;
  concurrent: number;
  concurrentBytes: number;
  concurrentRate: string;
}

/** The files the phases upload: the big one and the slow clients' one. */
export interface PhaseFiles {
  big: string;
  small: string;
}

/** One unmeasured upload of `file` to `url`, which must answer 201. */
export async function warmUpload(file: string, url: string): Promise<void> {
  const warm = await curlUpload(file, url);
  if (warm.status !== 201) throw new Error(`warm-up got ${warm.status}`);
}

/**
 * Warms every server up (JIT, first file) with a small upload, then with
 * one unmeasured big upload each. Resolves with the service's idle RSS
 * between the two.
 */
export async function warmUp(
  peers: Peers,
  files: PhaseFiles,
  tmp: string,
): Promise<number> {
  const { service, baseline, baselineFsync, fastApi } = peers;
  const others = fastApi ? [fastApi] : [];
  for (const peer of [service, baseline, baselineFsync, ...others]) {
    await warmUpload(files.small, `${peer.server.url}${peer.path}`);
  }
  // The service's idle memory before any big upload: the RSS target is
  // measured from here, not from after the big warm-up below.
  const freshIdleRssBytes = await rssOf(service.server.pid);
  // One unmeasured big upload to each: the first GiB of page cache
  // written after the source files are made was far slower here
  // (baseline round 1 at 280-380 MiB/s, later rounds 750-1130), a
  // penalty that fell on whichever server went first. On a VM with free
  // page reporting the first touch of a page free for more than ~2 s
  // faults in the host, so a round that follows another's deleted file
  // closely still writes faster than one that does not (bench/PROFILE.md,
  // "free page reporting").
  for (const peer of [baseline, service, baselineFsync, ...others]) {
    await syncDisks();
    await warmUpload(files.big, `${peer.server.url}${peer.path}`);
    await emptyDir(peer.dir);
  }
  await emptyDir(service.dir);
  await emptyDir(baseline.dir);
  await emptyDir(baselineFsync.dir);
  await emptyDir(join(tmp, "fastapi"));
  return freshIdleRssBytes;
}

/**
 * Part 1: throughput and memory, rounds alternating between servers, and
 * in each round the SHA-256 ceiling of the same file (`hash_ceiling.ts`).
 */
export async function throughputRounds(
  peers: Peers,
  file: string,
  tmp: string,
  s: PhaseSettings,
): Promise<Runs> {
  const runs: Runs = {
    service: [],
    baseline: [],
    baselineFsync: [],
    fastApi: [],
    sha256: [],
    sha256CpuMsPerGiB: [],
  };
  const measure = (peer: Peer) =>
    throughputRound(peer.server, peer.path, file, peer.dir, tmp, s);
  for (let i = 0; i < s.rounds; i++) {
    runs.baseline.push(await measure(peers.baseline));
    runs.service.push(await measure(peers.service));
    if (s.fsyncBaseline) {
      runs.baselineFsync.push(await measure(peers.baselineFsync));
    }
    if (peers.fastApi) runs.fastApi.push(await measure(peers.fastApi));
    const hash = await hashCeiling(file);
    runs.sha256.push(round(hash.mibPerSecond));
    runs.sha256CpuMsPerGiB.push(Math.round(hash.cpuMsPerGiB));
  }
  return runs;
}

/** Part 2: many slow clients at once to the service. */
export async function slowClients(
  service: Peer,
  file: string,
  s: PhaseSettings,
): Promise<UploadBenchResult["concurrent"]> {
  const { concurrent, concurrentRate, sampleMs } = s;
  await syncDisks();
  const idleRssBytes = await rssOf(service.server.pid);
  const sampler = sampleRss(service.server.pid, sampleMs);
  const started = performance.now();
  let uploads: CurlUpload[];
  let peakRssBytes = 0;
  try {
    uploads = await Promise.all(
      Array.from(
        { length: concurrent },
        () =>
          curlUpload(file, `${service.server.url}/files`, {
            out: "/dev/null",
            rate: concurrentRate,
          }),
      ),
    );
  } finally {
    peakRssBytes = await sampler.stop();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const statuses: Record<string, number> = {};
  for (const upload of uploads) {
    statuses[upload.status] = (statuses[upload.status] ?? 0) + 1;
  }
  await emptyDir(service.dir);
  return {
    clients: concurrent,
    bytesEach: s.concurrentBytes,
    rate: concurrentRate,
    created: statuses["201"] ?? 0,
    statuses,
    wallSeconds: round(wallSeconds),
    idleRssBytes,
    peakRssBytes,
  };
}
