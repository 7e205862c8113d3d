/**
 * Tests of the upload benchmark's CPU budget (`bench/upload_budget.ts`):
 * the fastest a server that stores and hashes the body could go on the
 * run's cores, from the client's, the cheapest baseline's and the hash's
 * CPU per GiB, and how the report uses it to call a target out of reach.
 *
 * @module
 */

import assert from "node:assert/strict";
import { uploadBudget } from "../bench/upload_budget.ts";
import type { UploadBenchResult } from "../bench/upload_result.ts";
import { throughputRows } from "../bench/upload_throughput.ts";
import { childCpuMs } from "../bench/upload_tools.ts";
import { results } from "./fixtures/bench_results.ts";

/** A fresh copy of the made-up run's upload figures. */
function upload(): UploadBenchResult {
  const figures = results().upload;
  if (figures === undefined || "error" in figures) {
    throw new Error("the fixture has no upload figures");
  }
  return structuredClone(figures);
}

Deno.test("uploadBudget() sums the client, the cheapest store and the hash over the cores", () => {
  const budget = uploadBudget(upload());
  // curl: the least of the servers' medians (600 to pipeTo, 640 to the
  // service); store: pipeTo's 1,100 ms beats FastAPI's 1,900 (pipeTo +
  // fsync has no CPU figures); hash: the median of 1,000, 1,020 and 990.
  assert.deepEqual(budget, {
    mibPerSecond: 2 * 1000 * 1024 / (600 + 1100 + 1000),
    cores: 2,
    clientMs: 600,
    storeMs: 1100,
    store: "pipeTo",
    hashMs: 1000,
  });
});

Deno.test("uploadBudget() is undefined without the figures it needs", () => {
  const noClient = upload();
  for (const run of noClient.runs.service) delete run.clientCpuMsPerGiB;
  for (const run of noClient.runs.baseline) delete run.clientCpuMsPerGiB;
  assert.equal(uploadBudget(noClient), undefined);
  const noHash = upload();
  noHash.runs.sha256CpuMsPerGiB = [];
  assert.equal(uploadBudget(noHash), undefined);
  const noCores = upload();
  noCores.cores = 0;
  assert.throws(() => uploadBudget(noCores), RangeError);
});

Deno.test("a target above the CPU budget is out of reach while hashing", () => {
  const fast = upload();
  // pipeTo at 900 MiB/s: 0.9x asks 810, under one core's SHA-256 (1,500
  // MiB/s here) but over the two cores' budget (~759 MiB/s).
  fast.medianMiBPerSecond.baseline = 900;
  fast.medianMiBPerSecond.sha256 = 1500;
  const rows = throughputRows(fast).map((row) => row.join(" | "));
  const pipe = rows.find((row) => row.startsWith("vs pipeTo (median)"));
  assert.match(
    pipe ?? "",
    /❌ not met: out of reach while hashing on 2 cores \(it asks 810 MiB\/s, their CPU allows a hashed upload 759 MiB\/s\)$/,
  );
  const budget = rows.find((row) => row.startsWith("vs the CPU budget"));
  assert.match(
    budget ?? "",
    /2 cores ÷ \(curl 600 \+ pipeTo 1,100 \+ SHA-256 1,000 ms of CPU per GiB\)\) \| 441 MiB\/s \| 759 MiB\/s \| 0\.58 \| — \| info$/,
  );
  // Under the budget, a missed target is only missed.
  const slow = upload();
  slow.medianMiBPerSecond.baseline = 700;
  slow.medianMiBPerSecond.sha256 = 1500;
  const missed = throughputRows(slow).map((row) => row.join(" | "))
    .find((row) => row.startsWith("vs pipeTo (median)"));
  assert.match(missed ?? "", /\| ❌ not met$/);
});

Deno.test("childCpuMs() reads curl's user and system time from sh's times", async () => {
  // A real child of sh that burns CPU, and sh's own `times` lines.
  const { stderr, success } = await new Deno.Command("sh", {
    args: ["-c", "yes | head -c 200000000 > /dev/null; times >&2"],
    stderr: "piped",
  }).output();
  assert.ok(success);
  const ms = childCpuMs(new TextDecoder().decode(stderr));
  assert.ok(ms > 0 && ms < 60_000, `child CPU ${ms} ms`);
  assert.equal(
    childCpuMs("x\n0m0.010000s 0m0.000000s\n1m2.500000s 0m0.250000s\n"),
    62_750,
  );
  assert.throws(() => childCpuMs("curl: (7) refused\n"), Error);
});
