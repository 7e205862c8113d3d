/**
 * The heartbeat of an upload in progress (`live/<id>`) against a real Ceph
 * radosgw, through an HTTP forwarder that holds a beat's PUT the way a
 * loaded store or network does: a beat under way when the upload commits
 * must not land after its removal (the flake of `s3_sweep_test.ts`: one
 * `live/` key left after a full run under load). A PUT cut off on the
 * client's side has left already and still lands, after the DELETE sent
 * behind it on another connection.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { cephTest } from "./fixtures/s3_app.ts";
import { S3Bucket } from "../services/storage/s3_bucket.ts";
import { Heartbeat } from "../services/storage/s3_heartbeat.ts";

const ID = "0123456789abcdef0123456789abcdef";
// How long the forwarder holds a beat its client waits for.
const HOLD_MS = 300;

/**
 * A forwarder to `ceph` (re-signing each request) that holds the first
 * PUT of `live/` for `holdMs`, or until a DELETE has been forwarded: a
 * beat whose request has left lands whatever its client does.
 * `releasedBy` says which ended the hold.
 */
function slowBeats(ceph: Ceph, holdMs = HOLD_MS) {
  let releasedBy: "delete" | "timer" | undefined;
  const beatHeld = Promise.withResolvers<void>();
  const deleted = Promise.withResolvers<void>();
  const beatLanded = Promise.withResolvers<void>();
  let beats = 0;
  const forward = async (
    req: Request,
    body: Uint8Array<ArrayBuffer> | undefined,
  ) => {
    const { pathname, search } = new URL(req.url);
    const res = await ceph.client.fetch(
      `${ceph.endpoint}${pathname}${search}`,
      {
        method: req.method,
        ...(body ? { body } : {}),
      },
    );
    const answer = await res.arrayBuffer();
    return new Response(res.status === 204 ? null : answer, {
      status: res.status,
      headers: res.headers,
    });
  };
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const body = req.body ? await req.bytes() : undefined;
      const isBeat = req.method === "PUT" && req.url.includes("/live/");
      if (!isBeat || beats++ > 0) {
        const res = await forward(req, body);
        if (req.method === "DELETE") deleted.resolve();
        return res;
      }
      beatHeld.resolve();
      // A DELETE forwarded first means the client gave up on this beat
      // (one it waits for holds the DELETE back).
      let timer: ReturnType<typeof setTimeout> | undefined;
      releasedBy = await Promise.race([
        deleted.promise.then(() => "delete" as const),
        new Promise<"timer">((resolve) =>
          timer = setTimeout(() => resolve("timer"), holdMs)
        ),
      ]);
      clearTimeout(timer);
      const res = await forward(req, body);
      beatLanded.resolve();
      return res;
    },
  );
  return {
    url: new URL(`http://127.0.0.1:${server.addr.port}`),
    beatHeld: beatHeld.promise,
    beatLanded: beatLanded.promise,
    get releasedBy() {
      return releasedBy;
    },
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

/**
 * A heartbeat of upload `ID` every 20 ms into `ceph`, sent through
 * `endpoint`, each request bounded by `timeoutMs`; disposing it closes its
 * bucket's connections.
 */
function heartbeatVia(
  ceph: Ceph,
  endpoint: URL,
  timeoutMs?: number,
): Heartbeat & Disposable {
  const bucket = new S3Bucket({
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    endpoint,
    bucket: ceph.bucket,
    region: ceph.region,
    accessKeyId: ceph.accessKeyId,
    secretAccessKey: ceph.secretAccessKey,
  });
  return Object.assign(new Heartbeat(bucket, ID, 20), {
    [Symbol.dispose]: () => bucket.close(),
  });
}

cephTest(
  "s3: a heartbeat stopped while a beat is under way leaves no live/ key",
  async () => {
    await using ceph = await sharedCeph();
    await using forwarder = slowBeats(ceph);
    using heartbeat = heartbeatVia(ceph, forwarder.url);
    await forwarder.beatHeld;
    await heartbeat.stop();
    await forwarder.beatLanded;
    assert.deepEqual((await bucketContents(ceph)).keys, []);
  },
);

cephTest(
  "s3: a heartbeat aborted while a beat is under way answers at once",
  async () => {
    await using ceph = await sharedCeph();
    // Held for a minute unless a DELETE comes, the beat's own bound
    // longer: an abort that waited for the beat would hold its answer that
    // long, and send its DELETE after.
    await using forwarder = slowBeats(ceph, 60_000);
    using heartbeat = heartbeatVia(ceph, forwarder.url, 120_000);
    await forwarder.beatHeld;
    await heartbeat.abort();
    // A failing upload's answer does not wait for the held beat: the
    // DELETE went out while the beat was held, and ended the hold.
    // The cut-off beat lands after the DELETE: the sweep's to remove.
    await forwarder.beatLanded;
    assert.equal(forwarder.releasedBy, "delete");
    assert.deepEqual((await bucketContents(ceph)).keys, [`live/${ID}`]);
  },
);
