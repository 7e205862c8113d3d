/**
 * The report sections of the benchmarks on the real engines (issue 10):
 * the Redis tier against the in-memory hit, the stampede across instances
 * sharing Redis, and uploads into radosgw against a plain multipart upload.
 *
 * @module
 */

import { formatValue } from "./charts.ts";
import type { RedisTierResult, StampedeResult } from "./redis_bench.ts";
import type { S3UploadResult } from "./s3_bench.ts";
import {
  formatBytes,
  formatRatio,
  met,
  plural,
  table,
} from "./report_format.ts";

const MiB = 1024 * 1024;

/** Targets of issue 10's benchmark. */
export const ENGINE_TARGETS = {
  /** Upstream requests per key for 100 concurrent misses on 3 instances. */
  stampedeUpstreamRequests: 1,
  /** service / plain multipart upload into radosgw, at least. */
  s3Ratio: 0.8,
  /**
   * Slack over idle + queue + parts in flight × part size, MiB: the reader's
   * and writer's buffers, the hash's pending bytes, the runtime.
   */
  s3RssSlackMiB: 32,
} as const;

const ms = (v: number | undefined) =>
  v === undefined ? "—" : `${formatValue(v)} ms`;

/** The Redis tier's section. */
export function redisSection(r: RedisTierResult): string {
  return [
    `## Cached GET through the Redis tier`,
    "",
    `Two services share one \`redis-server\` (\`REDIS_URL\`); one keeps the default \`CACHE_MAX_BYTES\` (answers from its in-process tier), the other \`CACHE_MAX_BYTES=${r.coldCacheMaxBytes}\`, the least allowed, so its in-process tier is cold for the keys in turn and every answer comes from Redis. Both warmed with all ${r.keys} keys; \`wrk -t1 -c${r.connections}\` with a Lua script cycling over \`/posts/1\` … \`/posts/${r.keys}\`, ${
      plural(r.rounds, "round")
    } of ${r.seconds} s alternating, medians. Redis's \`keyspace_hits\` per request shows where answers came from.`,
    "",
    table([
      "measure",
      "Redis tier (cold in-process)",
      "in-memory hit",
      "ratio",
      "result",
    ], [
      [
        "requests/s",
        formatValue(r.redis.requestsPerSecond),
        formatValue(r.memory.requestsPerSecond),
        `**${formatRatio(r.ratio)}**`,
        "info (issue 10 sets no target)",
      ],
      [
        "latency p99 (lower is better)",
        ms(r.redis.latencyP99Ms),
        ms(r.memory.latencyP99Ms),
        r.redis.latencyP99Ms && r.memory.latencyP99Ms
          ? formatRatio(r.redis.latencyP99Ms / r.memory.latencyP99Ms)
          : "—",
        "info",
      ],
      [
        "non-2xx answers / socket errors (of all requests)",
        `${r.redis.non2xx} / ${r.redis.errors} (of ${r.redis.requests})`,
        `${r.memory.non2xx} / ${r.memory.errors} (of ${r.memory.requests})`,
        "—",
        "info (a Redis read past REDIS_TIMEOUT_MS is a miss that goes upstream; a full upstream queue answers 503)",
      ],
      [
        "Redis GET hits per request",
        formatRatio(r.redis.redisHitsPerRequest),
        formatRatio(r.memory.redisHitsPerRequest),
        "—",
        met(
          r.redis.redisHitsPerRequest >= 0.9 &&
            r.memory.redisHitsPerRequest < 0.1,
        ) +
        " (check: the cold side reads Redis, the warm one does not)",
      ],
    ]),
  ].join("\n");
}

/** The stampede's section. */
export function stampedeSection(s: StampedeResult): string {
  const rows = s.rounds.map((r) => [
    `\`${r.path}\``,
    String(r.upstreamRequests),
    ms(r.p99Ms),
    ms(r.maxMs),
    Object.entries(r.statuses).map(([code, n]) => `${n} × ${code}`).join(", "),
    met(r.upstreamRequests <= ENGINE_TARGETS.stampedeUpstreamRequests),
  ]);
  return [
    `## Stampede: ${s.clients} misses across ${s.instances} instances sharing Redis`,
    "",
    `${s.instances} services share one \`redis-server\`; the upstream (the loopback fixture) answers each key after ${s.upstreamDelayMs} ms. For each key, ${s.clients} concurrent \`GET\`s of it, spread round-robin over the instances. Target: ${ENGINE_TARGETS.stampedeUpstreamRequests} upstream request per key; the wait's floor is the upstream's ${s.upstreamDelayMs} ms.`,
    "",
    table([
      "key",
      "upstream requests",
      "p99 wait",
      "max wait",
      "answers",
      "result",
    ], rows),
  ].join("\n");
}

/** The most the service's RSS may grow during the S3 upload, MiB. */
export function s3RssBudgetMiB(s: S3UploadResult): number {
  return (s.queueBytes + s.partsInFlight * s.partBytes) / MiB +
    ENGINE_TARGETS.s3RssSlackMiB;
}

/** The S3 upload's section. */
export function s3Section(s: S3UploadResult): string {
  const growth = (s.servicePeakRssBytes - s.serviceIdleRssBytes) / MiB;
  const budget = s3RssBudgetMiB(s);
  return [
    `## Upload into radosgw (S3) vs a plain multipart upload`,
    "",
    `A ${
      formatBytes(s.bytes)
    } file of random bytes into a single-node Ceph radosgw started by the bench: \`curl -T\` to the service's \`POST /files\` with \`S3_*\` set, against \`bench/s3_plain_upload.ts\`, a plain multipart upload of the same file into the same radosgw with the same client code (the service's \`S3Bucket\`, aws4fetch), ${
      formatBytes(s.partBytes)
    } parts, ${s.partsInFlight} in flight. ${
      plural(s.rounds, "round")
    } alternating, medians. The memory bound counts the service's buffers: the queue, and ${s.partsInFlight} part buffers (the parts uploading and the one filling share them); its ${ENGINE_TARGETS.s3RssSlackMiB} MiB of slack covers the reader's and the writer's buffer (\`UPLOAD_WRITE_BYTES\`, 1 MiB each on S3), the SHA-256 worker's pending bytes (at most 4 MiB) and the runtime.`,
    "",
    table([
      "measure",
      "service",
      "plain multipart",
      "ratio",
      "target",
      "result",
    ], [
      [
        "throughput",
        `${formatValue(s.serviceMiBPerSecond)} MiB/s`,
        `${formatValue(s.plainMiBPerSecond)} MiB/s`,
        `**${formatRatio(s.ratio)}**`,
        `≥ ${ENGINE_TARGETS.s3Ratio}`,
        met(s.ratio >= ENGINE_TARGETS.s3Ratio),
      ],
      [
        "RSS growth, peak − idle",
        `${formatValue(growth)} MiB`,
        "—",
        "—",
        `≤ ${formatValue(budget)} MiB (queue ${
          formatBytes(s.queueBytes)
        } + ${s.partsInFlight} × ${
          formatBytes(s.partBytes)
        } part buffers + ${ENGINE_TARGETS.s3RssSlackMiB} MiB)`,
        met(growth <= budget),
      ],
      [
        "peak RSS (the plain upload: its whole deno process)",
        `${formatValue(s.servicePeakRssBytes / MiB)} MiB`,
        `${formatValue(s.plainPeakRssBytes / MiB)} MiB`,
        formatRatio(s.servicePeakRssBytes / s.plainPeakRssBytes),
        "—",
        "info",
      ],
    ]),
  ].join("\n");
}

/** Summary lines of the engine steps measured. */
export function enginesSummary(
  redis: RedisTierResult | undefined,
  stampede: StampedeResult | undefined,
  s3: S3UploadResult | undefined,
): string[] {
  const lines: string[] = [];
  if (redis) {
    lines.push(
      `redis tier: ${formatValue(redis.redis.requestsPerSecond)} vs in-memory ${
        formatValue(redis.memory.requestsPerSecond)
      } req/s = ${formatRatio(redis.ratio)}`,
    );
  }
  if (stampede) {
    lines.push(
      `stampede: upstream requests per key ${
        stampede.rounds.map((r) => r.upstreamRequests).join(", ")
      } (target ${ENGINE_TARGETS.stampedeUpstreamRequests}), p99 wait ${
        stampede.rounds.map((r) => `${formatValue(r.p99Ms)} ms`).join(", ")
      }`,
    );
  }
  if (s3) {
    const growth = (s3.servicePeakRssBytes - s3.serviceIdleRssBytes) / MiB;
    lines.push(
      `s3 upload ${formatBytes(s3.bytes)}: ${
        formatValue(s3.serviceMiBPerSecond)
      } vs plain ${formatValue(s3.plainMiBPerSecond)} MiB/s = ${
        formatRatio(s3.ratio)
      } (target >= ${ENGINE_TARGETS.s3Ratio}) ${
        met(s3.ratio >= ENGINE_TARGETS.s3Ratio)
      }; RSS growth ${formatValue(growth)} MiB (target <= ${
        formatValue(s3RssBudgetMiB(s3))
      }) ${met(growth <= s3RssBudgetMiB(s3))}`,
    );
  }
  return lines;
}
