/**
 * Tests of the upload benchmark's idle share (`bench/machine_idle.ts`):
 * the share of the machine's cores left idle during a round, read from
 * `/proc/stat`, and the report's sentence that says, per server, whether
 * its uploads used every core or waited.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  idleShare,
  machineTimes,
  parseMachineTimes,
} from "../bench/machine_idle.ts";
import { cpuAccount } from "../bench/upload_cpu.ts";
import type { UploadBenchResult } from "../bench/upload_result.ts";
import { results } from "./fixtures/bench_results.ts";

const STAT = (idle: number, iowait: number) =>
  `cpu  100 5 50 ${idle} ${iowait} 1 2 3 0 0\ncpu0 50 2 25 10 1 0 1 1 0 0\n`;

Deno.test("parseMachineTimes() counts idle and iowait against every state but guest", () => {
  assert.deepEqual(parseMachineTimes(STAT(200, 10)), {
    total: 100 + 5 + 50 + 200 + 10 + 1 + 2 + 3,
    idle: 210,
  });
  assert.throws(() => parseMachineTimes("intr 1 2\n"), TypeError);
});

Deno.test("idleShare() is the idle part of the time between two reads", () => {
  const before = parseMachineTimes(STAT(200, 10));
  // 100 more jiffies of idle + iowait over 400 more in all.
  const after = { total: before.total + 400, idle: before.idle + 100 };
  assert.equal(idleShare(before, after), 0.25);
  assert.equal(idleShare(before, before), undefined);
});

Deno.test("machineTimes() reads this machine's /proc/stat", async () => {
  const first = await machineTimes();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const share = idleShare(first, await machineTimes());
  assert.ok(first.total > 0 && first.idle <= first.total);
  assert.ok(share === undefined || (share >= 0 && share <= 1), `${share}`);
});

Deno.test("cpuAccount() gives each server's median idle share and curl's CPU", () => {
  const figures = results().upload;
  if (figures === undefined || "error" in figures) {
    throw new Error("the fixture has no upload figures");
  }
  const upload: UploadBenchResult = structuredClone(figures);
  const [service] = upload.runs.service;
  upload.runs.service = [0.3, 0.1, 0.2].map((machineIdleShare) => ({
    ...service!,
    machineIdleShare,
  }));
  upload.runs.baseline.forEach((run) => run.machineIdleShare = 0.04);
  const text = cpuAccount(upload).join("\n");
  assert.match(text, /Cores left idle during the upload/);
  assert.match(text, /the service 20%, curl 640 ms/);
  assert.match(text, /pipeTo 4%, curl 600 ms/);
  // No idle figures at all: no sentence.
  const none: UploadBenchResult = structuredClone(figures);
  assert.doesNotMatch(cpuAccount(none).join("\n"), /Cores left idle/);
});
