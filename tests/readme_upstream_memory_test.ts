/**
 * README's figures for the upstream's memory and per-client share follow
 * the code's defaults: `UPSTREAM_CONCURRENCY` × `UPSTREAM_MAX_BYTES` (the
 * bodies in flight) in Limits and protections, and the share one address
 * may hold in Settings. Both were worked out by hand, so a default changed
 * in services/ops/settings.ts must change them too.
 *
 * @module
 */

import assert from "node:assert/strict";
import { loadConfig } from "../services/ops/config.ts";
import { ClientShare } from "../services/upstream/client_share.ts";

const README = new URL("../README.md", import.meta.url);
const MiB = 1024 * 1024;

/** README's table row that starts with `start`. */
function row(readme: string, start: string): string {
  const line = readme.split("\n").find((l) => l.startsWith(start));
  assert.ok(line, `no README row starting ${start}`);
  return line;
}

/** The defaults, as the service starts with no flag and no variable. */
function defaults() {
  const result = loadConfig({});
  if (result.help) throw new Error("unexpected --help");
  return result.config;
}

Deno.test("README's bound on upstream bodies in flight is UPSTREAM_CONCURRENCY × UPSTREAM_MAX_BYTES at the defaults", async () => {
  const readme = await Deno.readTextFile(README);
  const line = row(readme, "| `UPSTREAM_CONCURRENCY` × `UPSTREAM_MAX_BYTES`");
  const [, slots, each, total] = /(\d+) × (\d+) MiB = (\d+) MiB/.exec(line) ??
    [];
  const config = defaults();
  assert.equal(Number(slots), config.upstreamConcurrency);
  assert.equal(Number(each) * MiB, config.upstreamMaxBytes);
  assert.equal(
    Number(total) * MiB,
    config.upstreamConcurrency * config.upstreamMaxBytes,
  );
  assert.match(line, new RegExp(`\\| ${total} MiB \\(`));
});

Deno.test("README's share of one client address is the code's at the defaults", async () => {
  const readme = await Deno.readTextFile(README);
  const config = defaults();
  const cap = new ClientShare({
    slots: config.upstreamConcurrency,
    queueLimit: config.upstreamQueueLimit,
    percent: config.upstreamClientSharePercent,
  }).cap;
  const setting = row(readme, "| `UPSTREAM_CLIENT_SHARE_PERCENT`");
  assert.match(setting, new RegExp(`\\(${cap} with the defaults\\)`));
  assert.match(
    setting,
    new RegExp(`\\| \`${config.upstreamClientSharePercent}\` +\\|`),
  );
  const limit =
    readme.split("\n").filter((l) =>
      l.startsWith("| `UPSTREAM_CLIENT_SHARE_PERCENT`")
    )[1];
  assert.ok(limit, "the Limits row");
  assert.match(
    limit,
    new RegExp(
      `\\| ${config.upstreamClientSharePercent} % \\(${cap} of ` +
        `${config.upstreamConcurrency} \\+ ${config.upstreamQueueLimit}\\)`,
    ),
  );
});
