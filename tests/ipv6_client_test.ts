/**
 * Tests that an IPv6 client counts as its /64 in the per-client limits:
 * one host is given a whole /64 and may send from any address in it, so
 * counted by address, a client behind nginx (`TRUSTED_PROXIES`, its
 * address in `X-Forwarded-For`) took every `MAX_CONCURRENT_UPLOADS` slot
 * with one upload per address, and `MAX_UPLOADS_PER_CLIENT` never held.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { clientKey } from "../services/http/trusted_proxies.ts";
import { serveTempApp } from "./fixtures/served_app.ts";
import { stalledBody } from "./fixtures/upload_client.ts";

/** Polls `condition` every 10 ms; rejects after 10 s. */
async function waitUntil(condition: () => boolean, what: string) {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out: ${what}`);
    await delay(10);
  }
}

Deno.test("clientKey: IPv6 as its /64 however written, IPv4 (mapped too) as it is", () => {
  assert.equal(clientKey("2001:db8:1:2::a"), "2001:db8:1:2::/64");
  assert.equal(
    clientKey("2001:0db8:0001:0002:ffff:1:2:3"),
    "2001:db8:1:2::/64",
  );
  assert.equal(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(clientKey("::1"), "0:0:0:0::/64");
  assert.equal(clientKey("203.0.113.9"), "203.0.113.9");
  assert.equal(clientKey("::ffff:203.0.113.9"), "203.0.113.9");
  // Not an address (a proxy's garbage): as it is, never a throw.
  assert.equal(clientKey("unknown"), "unknown");
});

Deno.test("MAX_UPLOADS_PER_CLIENT behind a trusted proxy: the addresses of one IPv6 /64 share one cap, another /64 gets in", async () => {
  await using served = await serveTempApp([
    "--trusted-proxies",
    "loopback",
    "--max-uploads-per-client",
    "2",
    "--max-concurrent-uploads",
    "10",
  ]);
  const upload = (from: string, body: BodyInit) =>
    fetch(`${served.url}/files`, {
      method: "POST",
      headers: { "x-forwarded-for": from },
      body,
    });
  const stalled = [stalledBody([new Uint8Array(1000)]), stalledBody([])];
  const pending = stalled.map((body, i) =>
    upload(`2001:db8:1:2::${i + 1}`, body.stream)
  );
  try {
    await waitUntil(
      () => served.app.uploads.active === 2,
      "two uploads of 2001:db8:1:2::/64 running",
    );
    assert.equal(served.app.uploads.activeFor("2001:db8:1:2::/64"), 2);
    // A third address of the same /64: before, a client of its own (201).
    const refused = await upload("2001:db8:1:2::3", new Uint8Array(10));
    assert.equal(refused.status, 429, await refused.text());
    const other = await upload("2001:db8:1:3::1", new Uint8Array(10));
    assert.equal(other.status, 201, await other.text());
  } finally {
    for (const body of stalled) body.release();
  }
  for (const res of await Promise.all(pending)) {
    assert.equal(res.status, 201, await res.text());
  }
  assert.equal(served.app.uploads.activeFor("2001:db8:1:2::/64"), 0);
});
