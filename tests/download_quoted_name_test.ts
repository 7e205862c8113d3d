/**
 * A stored file whose name holds a `"` (kept from a form's `%22` or a
 * `PUT /files/<name>`) is saved under its name by the command-line clients
 * that read `Content-Disposition`: `wget --content-disposition` takes the
 * exact name from `filename*`, `curl -OJ` (which reads `filename` alone)
 * the plain one with `'` for `"`. Before, the header was
 * `filename="say \"hi\".txt"`, whose backslash escape neither implements
 * (RFC 6266 appendix D): both saved the file under its id.
 *
 * Needs curl and wget (Debian: curl, wget); CI installs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

/** Each stored name, its header, and what curl -OJ saves it as. */
const NAMES = [
  {
    stored: 'say "hi".txt',
    disposition:
      `attachment; filename="say 'hi'.txt"; filename*=UTF-8''say%20%22hi%22.txt`,
    curl: "say 'hi'.txt",
  },
  {
    stored: 'na\u00efve "1".txt',
    disposition:
      `attachment; filename="naive '1'.txt"; filename*=UTF-8''na%C3%AFve%20%221%22.txt`,
    curl: "naive '1'.txt",
  },
];

Deno.test("wget --content-disposition and curl -OJ save a file named with a quote under its name", async () => {
  await using service = await serveApp({});
  for (const { stored, disposition, curl } of NAMES) {
    const created = await fetch(
      `${service.url}/files/${encodeURIComponent(stored)}`,
      { method: "PUT", body: "hello" },
    );
    assert.equal(created.status, 201);
    const { id, filename } = await created.json() as {
      id: string;
      filename: string;
    };
    assert.equal(filename, stored);
    const url = `${service.url}/files/${id}`;
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.headers.get("content-disposition"), disposition);

    await withTempDir(async (dir) => {
      const wget = await runTool("wget", ["-q", "--content-disposition", url], {
        install: "apt-get install -y wget",
        cwd: dir,
      });
      assert.equal(wget.code, 0, wget.stderr);
      assert.deepEqual(await listDir(dir), [stored]);
      assert.equal(await Deno.readTextFile(`${dir}/${stored}`), "hello");
    });
    await withTempDir(async (dir) => {
      const out = await runTool("curl", ["-sS", "-OJ", url], {
        install: "apt-get install -y curl",
        cwd: dir,
      });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(await listDir(dir), [curl]);
      assert.equal(await Deno.readTextFile(`${dir}/${curl}`), "hello");
    });
  }
});
