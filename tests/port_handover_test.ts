/**
 * A replacement takes the port over with no request lost: clients writing
 * straight to an instance (each POST on a new connection) lose none and
 * are never refused while, three times, a replacement starts on the same
 * PORT with `REUSE_PORT=true` and the instance replaced gets SIGTERM, the
 * kernel's `net.ipv4.tcp_migrate_req` at 1 (README, Shutdown).
 *
 * Closing a listener resets the connections the kernel queued for it, their
 * requests sent: an instance alone on its port loses them (0-15 per
 * SIGTERM), and so does one sharing it with `tcp_migrate_req` at 0 (6 and
 * 19 in two runs of 4 handovers). With it at 1 they go to the replacement.
 * The run is a child in a network namespace of its own (`unshare`), so the
 * setting is changed there only: its loopback is its own.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { HandoverCounts } from "./fixtures/port_handover.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HANDOVERS = 3;

/** `tests/fixtures/port_handover.ts` in a new network namespace. */
async function handOverInNamespace(migrateReq: 0 | 1): Promise<HandoverCounts> {
  const script = [
    "ip link set lo up",
    `echo ${migrateReq} > /proc/sys/net/ipv4/tcp_migrate_req`,
    `exec "${Deno.execPath()}" run -A --config deno.json ` +
    `tests/fixtures/port_handover.ts ${HANDOVERS}`,
  ].join(" && ");
  const { code, stdout, stderr } = await new Deno.Command("unshare", {
    // A user namespace too: needs no root where unprivileged ones are on.
    args: ["--map-root-user", "--net", "sh", "-ec", script],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout).trim();
  assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
  return JSON.parse(out.split("\n").at(-1)!) as HandoverCounts;
}

Deno.test("REUSE_PORT: a replacement on the same port and tcp_migrate_req at 1, direct clients lose no write at SIGTERM", async () => {
  const counts = await handOverInNamespace(1);
  assert.equal(counts.migrateReq, "1");
  assert.deepEqual(counts.exitCodes, Array(HANDOVERS).fill(0));
  assert.equal(counts.lost, 0, "no request sent and left unanswered");
  assert.equal(counts.refused, 0, "the port never closed");
  assert.deepEqual(Object.keys(counts.statuses), ["201"]);
  assert.ok(counts.statuses["201"]! > 100, JSON.stringify(counts));
});
