/**
 * Files stored before filenames were cleaned on upload may keep control
 * characters (C0, C1: U+009B is a terminal's CSI) and bidi controls
 * (U+202E shows `invoice\u202efdp.exe` as `invoiceexe.pdf`) in their
 * metadata. Such a name is now cleaned on the way out as a new one is on
 * the way in (one function: services/http/printable_name.ts): the
 * listing and the download's `Content-Disposition` give the cleaned name,
 * on the disk and on S3 (a real Ceph radosgw) alike, and a name with
 * nothing printable is left out, as for a new upload. Before, the listing
 * gave the raw name and the download's `filename*` carried it
 * percent-encoded (wget saves it so). The metadata is written here as an
 * older version wrote it: straight into the sidecar or the metadata object.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { sendDiscarding } from "./fixtures/files_service.ts";
import { cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { newId } from "./fixtures/upload_events.ts";

// What an old version stored, what the listing gives now, and the
// download's Content-Disposition.
const LEGACY = [
  {
    stored: "\u2067in\u0000vo\u001bice\u202efdp\u2066.exe\u009b2J\u0085\u007f ",
    served: "invoicefdp.exe2J",
    disposition: "attachment; filename=invoicefdp.exe2J",
  },
  { stored: "\u202e\u0007\u0085", served: undefined, disposition: null },
  {
    stored: "r\u00e9sum\u00e9\u200f.pdf",
    served: "r\u00e9sum\u00e9.pdf",
    disposition:
      `attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
  },
  // A lone surrogate (JSON may hold one): filename* could not encode it,
  // the download was a 500.
  {
    stored: "a\ud800b.txt",
    served: "a\ufffdb.txt",
    disposition:
      `attachment; filename=a_b.txt; filename*=UTF-8''a%EF%BF%BDb.txt`,
  },
  // Zero-width characters, and a name of dots alone (no name).
  {
    stored: "in\u200bvoice\ufeff.pdf",
    served: "invoice.pdf",
    disposition: "attachment; filename=invoice.pdf",
  },
  { stored: "...", served: undefined, disposition: null },
];

const CONTENT = new TextEncoder().encode("legacy bytes");

/** The metadata an older version stored for `id` named `filename`. */
function legacyMetadata(id: string, filename: string): string {
  return JSON.stringify({
    id,
    size: CONTENT.length,
    sha256: sha256Hex(CONTENT),
    created: new Date().toISOString(),
    filename,
    contentType: "application/octet-stream",
  });
}

/** Asserts what `origin` serves of the legacy files `ids` (LEGACY's order). */
async function assertServedClean(origin: string, ids: string[]): Promise<void> {
  const listed = await (await fetch(`${origin}/files?limit=100`)).json();
  const names = new Map<string, unknown>(
    listed.items.map((item: { id: string; filename?: string }) => [
      item.id,
      item.filename,
    ]),
  );
  for (const [i, { served, disposition }] of LEGACY.entries()) {
    const id = ids[i]!;
    assert.ok(names.has(id), `${id} listed`);
    assert.equal(names.get(id), served);
    for (const method of ["GET", "HEAD"]) {
      const res = await sendDiscarding(`${origin}/files/${id}`, { method });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-disposition"), disposition);
    }
  }
}

Deno.test("disk: legacy filenames with control and bidi characters are served cleaned", () =>
  withTempDir(async (dir) => {
    const files = join(dir, "files");
    await Deno.mkdir(files, { recursive: true });
    const ids = LEGACY.map(() => newId());
    for (const [i, { stored }] of LEGACY.entries()) {
      await Deno.writeFile(join(files, ids[i]!), CONTENT);
      await Deno.writeTextFile(
        join(files, `${ids[i]}.json`),
        legacyMetadata(ids[i]!, stored),
      );
    }
    await using served = await serveApp({ dataDir: dir });
    await assertServedClean(served.url, ids);
  }));

/** PUTs `body` at `key` of `ceph`'s bucket. */
async function put(
  ceph: Ceph,
  key: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<void> {
  const res = await ceph.client.fetch(
    `${ceph.endpoint}/${ceph.bucket}/${key}`,
    {
      method: "PUT",
      body,
    },
  );
  await res.body?.cancel();
  assert.equal(res.status, 200);
}

cephTest(
  "s3: legacy filenames with control and bidi characters are served cleaned",
  async () => {
    await using ceph = await sharedCeph();
    const ids = LEGACY.map(() => newId());
    for (const [i, { stored }] of LEGACY.entries()) {
      const meta = new TextEncoder().encode(legacyMetadata(ids[i]!, stored));
      await put(ceph, `meta/${ids[i]}.json`, meta);
      await put(ceph, `files/${ids[i]}`, CONTENT);
    }
    await using served = await serveApp({ args: s3Args(ceph) });
    await assertServedClean(served.url, ids);
  },
);
