/**
 * A page of many files from an S3 store (a real Ceph radosgw, seeded
 * directly with 400 files) reads their metadata objects a batch at a
 * time. All at once, one listing opened ~650 connections to the store
 * (each a descriptor, kept idle afterwards) and took 2.6 s; four at once
 * all ran past `S3_TIMEOUT_MS` and answered 503. A loopback pass-through
 * in front of the gateway counts the connections open at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";

const FILES = 400;
// The seeding's requests at once.
const SEED_AT_ONCE = 16;
// The listing's batch (32) with room for the app's own other requests.
const MOST_CONNECTIONS = 64;

/** Stores `count` one-byte files in `ceph`'s bucket as the app would. */
async function seed(ceph: Ceph, count: number): Promise<string[]> {
  const content = new Uint8Array([42]);
  const ids = Array.from(
    { length: count },
    (_, i) => "0".repeat(24) + i.toString(16).padStart(8, "0"),
  );
  const put = async (key: string, body: Uint8Array<ArrayBuffer>) => {
    const res = await ceph.client.fetch(
      `${ceph.endpoint}/${ceph.bucket}/${key}`,
      {
        method: "PUT",
        body,
      },
    );
    await res.body?.cancel();
    assert.equal(res.status, 200, key);
  };
  const sha256 = sha256Hex(content);
  const created = new Date(0).toISOString();
  for (let i = 0; i < ids.length; i += SEED_AT_ONCE) {
    await Promise.all(
      ids.slice(i, i + SEED_AT_ONCE).map(async (id) => {
        const meta = JSON.stringify({ id, size: 1, sha256, created });
        await put(`meta/${id}.json`, new TextEncoder().encode(meta));
        await put(`files/${id}`, content);
      }),
    );
  }
  return ids;
}

cephTest(
  "s3: a page of 400 files reads their metadata a batch at a time, not 400 requests at once",
  async () => {
    await using ceph = await sharedCeph();
    const ids = await seed(ceph, FILES);
    await using proxy = startTcpProxy({
      port: Number(new URL(ceph.endpoint).port),
    });
    await using served = await serveApp({
      args: s3Args(ceph, [], proxy.url),
    });
    const res = await fetch(`${served.url}/files?limit=${FILES}`);
    const page = await res.json();
    assert.equal(res.status, 200, JSON.stringify(page));
    assert.deepEqual(page.items.map((f: { id: string }) => f.id), ids);
    assert.ok(
      proxy.peakConnections <= MOST_CONNECTIONS,
      `${proxy.peakConnections} connections to the store at once`,
    );
  },
);
