/**
 * Traced uploads: one upload to a service at `LOG_LEVEL=debug`, its
 * `upload.trace` records turned into reader/writer timeline bars.
 *
 * @module
 */

import { join } from "node:path";
import type { BenchServer } from "./lib.ts";
import { curlUpload, delay } from "./upload_tools.ts";

const round = (n: number, digits = 2) =>
  Math.round(n * 10 ** digits) / 10 ** digits;

/** One bar of a trace timeline, in ms from the upload's first record. */
export interface TimelineEvent {
  task: string;
  op: string;
  startMs: number;
  endMs: number;
  bytes?: number;
  queued?: number;
}

/** A traced upload. */
export interface TracedUpload {
  bytes: number;
  rate: string | undefined;
  seconds: number;
  bound: string | undefined;
  events: TimelineEvent[];
}

/**
 * Turns `upload.trace` records of one upload into timeline bars. A record
 * is logged as its operation ends: `time` (ms resolution) is its end and
 * `ms` its duration. Within a task the operations run one after another,
 * so each end is also kept at or after the previous end plus this
 * duration, which restores the sub-ms order the timestamps lose; the
 * commit comes after both tasks.
 */
export function toTimeline(
  records: Record<string, unknown>[],
): TimelineEvent[] {
  const ends = records.map((r) => Date.parse(r.time as string));
  const origin = records.reduce(
    (min, r, i) => Math.min(min, ends[i]! - Number(r.ms ?? 0)),
    Infinity,
  );
  const lastEnd = new Map<string, number>();
  let latest = 0;
  return records.map((r, i) => {
    const task = String(r.task);
    const ms = Number(r.ms ?? 0);
    const after = task === "commit" ? latest : lastEnd.get(task) ?? 0;
    const end = Math.max(ends[i]! - origin, after + ms);
    lastEnd.set(task, end);
    latest = Math.max(latest, end);
    const event: TimelineEvent = {
      task,
      op: String(r.op),
      startMs: round(end - ms, 3),
      endMs: round(end, 3),
    };
    if (typeof r.bytes === "number") event.bytes = r.bytes;
    if (typeof r.queued === "number") event.queued = r.queued;
    return event;
  });
}

export async function tracedUpload(
  server: BenchServer,
  file: string,
  bytes: number,
  rate: string | undefined,
  tmp: string,
): Promise<TracedUpload> {
  const upload = await curlUpload(file, `${server.url}/files`, {
    out: join(tmp, "response.json"),
    ...(rate === undefined ? {} : { rate }),
  });
  const id = upload.body?.id;
  if (upload.status !== 201 || typeof id !== "string") {
    throw new Error(`traced upload got ${upload.status}`);
  }
  // The service batches its log lines per event-loop turn: wait for the
  // upload's commit record to reach the file.
  let records: Record<string, unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    records = (await Deno.readTextFile(server.logFile)).split("\n")
      .filter((line) => line.includes('"upload.trace"') && line.includes(id))
      .map((line) => JSON.parse(line));
    if (records.some((r) => r.task === "commit")) break;
    await delay(25);
  }
  const bound = upload.body?.bound;
  return {
    bytes,
    rate,
    seconds: round(upload.seconds, 3),
    bound: typeof bound === "string" ? bound : undefined,
    events: toTimeline(records),
  };
}
