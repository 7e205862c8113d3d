/**
 * The throughput rows of the upload report: the big upload against each
 * baseline (medians, then best rounds), the targets of issue 11 marked met
 * or not, and, when not, whether one core's SHA-256 of the file
 * (`hash_ceiling.ts`) or the machine's CPU budget for a hashed upload
 * (`upload_budget.ts`) already rules the target out.
 *
 * @module
 */

import { formatValue } from "./charts.ts";
import { formatRatio, met } from "./report_format.ts";
import { type UploadBudget, uploadBudget } from "./upload_budget.ts";
import type { UploadBenchResult } from "./upload_result.ts";

/** Targets of the upload (issue 11 item 4). */
export const UPLOAD_TARGETS = {
  /** service / bare pipeTo throughput (medians), at least. */
  vsPipe: 0.9,
  /** service / the FastAPI peer throughput (medians), at least: beat it. */
  vsFastApi: 1,
  /** Peak RSS may exceed idle by the queue capacity plus this, MiB. */
  rssSlackMiB: 32,
} as const;

/** `v` MiB/s, or a dash. */
const mibs = (v: number | undefined): string =>
  v === undefined ? "—" : `${formatValue(v)} MiB/s`;

/** A throughput target: the ratio to reach, and the ceilings. */
interface RowTarget {
  /** The ratio service / baseline to reach. */
  min: number;
  /** One core's SHA-256 of the file, MiB/s: no upload can beat it. */
  ceiling: number;
  /** The cores' CPU budget for a hashed upload, when measured. */
  budget: UploadBudget | undefined;
}

function throughputRow(
  what: string,
  service: number,
  baseline: number | undefined,
  target?: RowTarget,
): string[] {
  const ratio = baseline === undefined ? undefined : service / baseline;
  return [
    what,
    mibs(service),
    mibs(baseline),
    target === undefined ? formatRatio(ratio) : `**${formatRatio(ratio)}**`,
    target === undefined ? "—" : `≥ ${target.min}`,
    target === undefined ? "info" : targetResult(ratio, baseline, target),
  ];
}

/**
 * Met or not; when not, and the rate the target asks for is above what one
 * core hashes, or above what the cores' CPU allows a hashed upload, says
 * so: that target cannot be met while every byte is hashed before the 201,
 * however the rest is arranged.
 */
function targetResult(
  ratio: number | undefined,
  baseline: number | undefined,
  { min, ceiling, budget }: RowTarget,
): string {
  if (ratio === undefined || baseline === undefined) return met(false);
  if (ratio >= min) return met(true);
  const asked = min * baseline;
  if (asked > ceiling) {
    return `${met(false)}: out of reach while hashing (it asks ${
      mibs(asked)
    }, one core's SHA-256 does ${mibs(ceiling)})`;
  }
  if (budget !== undefined && asked > budget.mibPerSecond) {
    return `${
      met(false)
    }: out of reach while hashing on ${budget.cores} cores (it asks ${
      mibs(asked)
    }, their CPU allows a hashed upload ${mibs(budget.mibPerSecond)})`;
  }
  return met(false);
}

/** The info row of the CPU budget (`upload_budget.ts`), when measured. */
function budgetRow(
  service: number,
  budget: UploadBudget | undefined,
): string[][] {
  if (budget === undefined) return [];
  const ms = (v: number) => `${formatValue(v)}`;
  return [throughputRow(
    `vs the CPU budget of a hashed upload on ${budget.cores} cores (the most a server could do here that receives and stores the body as cheaply as the cheapest baseline and hashes it: ${budget.cores} cores ÷ (curl ${
      ms(budget.clientMs)
    } + ${budget.store} ${ms(budget.storeMs)} + SHA-256 ${
      ms(budget.hashMs)
    } ms of CPU per GiB))`,
    service,
    budget.mibPerSecond,
  )];
}

/** The big upload's throughput rows: medians, then best rounds. */
export function throughputRows(upload: UploadBenchResult): string[][] {
  const m = upload.medianMiBPerSecond;
  const budget = uploadBudget(upload);
  const rows: string[][] = [
    throughputRow("vs pipeTo (median)", m.service, m.baseline, {
      min: UPLOAD_TARGETS.vsPipe,
      ceiling: m.sha256,
      budget,
    }),
    throughputRow(
      "vs pipeTo + fsync (median; the service fsyncs too)",
      m.service,
      m.baselineFsync,
    ),
  ];
  if (m.fastApi !== undefined) {
    rows.push(
      throughputRow(
        "vs FastAPI peer (median)",
        m.service,
        m.fastApi,
        { min: UPLOAD_TARGETS.vsFastApi, ceiling: m.sha256, budget },
      ),
    );
  }
  rows.push(...budgetRow(m.service, budget));
  rows.push(
    throughputRow(
      "vs one core's SHA-256 of the same file (median; the most the service can do)",
      m.service,
      m.sha256,
    ),
  );
  rows.push(
    throughputRow(
      "vs pipeTo (best rounds)",
      upload.service.mibPerSecond,
      upload.baseline.mibPerSecond,
    ),
  );
  if (upload.fastApi) {
    rows.push(
      throughputRow(
        "vs FastAPI peer (best rounds)",
        upload.service.mibPerSecond,
        upload.fastApi.mibPerSecond,
      ),
    );
  }
  return rows;
}
