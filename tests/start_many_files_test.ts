/**
 * A start over a big files folder: the service used to read every sidecar
 * before listening (100k files: 9-25 s, 300k: 33-57 s on the loaded 2-core
 * test machine), refusing every request meanwhile, the cached `/posts/1`
 * and `/healthz` too. Now it listens at once and builds the index in the
 * background: while it builds, `/healthz` and `/posts/1` answer, uploads
 * and downloads of a known id work, `GET /files` and `/readyz` answer 503
 * with `Retry-After`, `files_index_built` is 0; once built, every file is
 * listed and `/readyz` is 200.
 *
 * The build is held, for as long as the test needs, by a Linux file lease
 * on one of the 2000 sidecars (`fixtures/file_lease.ts`): the service's
 * read of it waits until the test lets it go, and nothing else does.
 * Before the change, the start read that sidecar before listening: the
 * service listened only once the kernel broke the lease (45 s), its first
 * `/readyz` was 200, and this test fails at the first assertion.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { leaseFile } from "./fixtures/file_lease.ts";
import { writeCommittedFiles } from "./fixtures/many_files.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";

const FILES = 2000;

/** `path`'s status and `Retry-After`, its body read. */
async function ask(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(url, init);
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: await res.text(),
  };
}

/** Every file `GET /files` lists, following `Link` a page of 1000 at a time. */
async function listAll(base: string): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined = `${base}/files?limit=1000`;
  while (next) {
    const res: Response = await fetch(next);
    assert.equal(res.status, 200);
    const page = await res.json() as { items: { id: string }[] };
    ids.push(...page.items.map((item) => item.id));
    const link = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "");
    next = link ? new URL(link[1]!, base).href : undefined;
  }
  return ids;
}

Deno.test("A start whose index is being built answers at once; the listing and /readyz answer 503 with Retry-After until it is", async () => {
  await withTempDir(async (dataDir) => {
    const dir = join(dataDir, "files");
    await Deno.mkdir(dir);
    const written = writeCommittedFiles(dir, FILES);
    const known = written[FILES - 1]!;
    await using lease = await leaseFile(join(dir, `${written[0]!.id}.json`));
    await using upstream = await startJsonPlaceholder();
    await using service = await spawnService([], {
      env: { DATA_DIR: dataDir, UPSTREAM_URL: upstream.url },
      // On main the `listening` line came once the kernel broke the lease.
      timeoutMs: 90_000,
    });
    const base = service.url;

    const ready = await ask(`${base}/readyz`);
    assert.equal(ready.status, 503, "the index is still being built");
    assert.match(ready.retryAfter ?? "", /^\d+$/);
    assert.match(ready.body, /file index is being built/);
    assert.equal((await ask(`${base}/healthz`)).status, 200);
    assert.equal((await ask(`${base}/posts/1`)).status, 200);
    const listing = await ask(`${base}/files?limit=10`);
    assert.equal(listing.status, 503);
    assert.match(listing.retryAfter ?? "", /^\d+$/);
    assert.match(listing.body, /file index is being built/);
    const metrics = await ask(`${base}/metrics`);
    assert.match(metrics.body, /^files_index_built 0$/m);

    // A known id is downloaded, a new file stored and downloaded, meanwhile.
    const download = await ask(`${base}/files/${known.id}`);
    assert.equal(download.status, 200);
    assert.equal(download.body, "\u0001");
    const stored = await fetch(`${base}/files`, {
      method: "POST",
      body: "stored while the index was built",
    });
    assert.equal(stored.status, 201);
    const { id } = await stored.json() as { id: string };
    assert.equal((await ask(`${base}/files/${id}`)).status, 200);
    assert.equal((await ask(`${base}/readyz`)).status, 503, "still building");

    await lease.release();
    await until(
      async () => (await ask(`${base}/readyz`)).status === 200,
      "the index built (/readyz 200)",
    );
    assert.match((await ask(`${base}/metrics`)).body, /^files_index_built 1$/m);
    const listed = await listAll(base);
    assert.equal(listed.length, FILES + 1);
    assert.deepEqual(
      new Set(listed),
      new Set([...written.map((meta) => meta.id), id]),
    );
  });
});
