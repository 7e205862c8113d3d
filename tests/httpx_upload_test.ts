/**
 * Uploads from Python's `httpx` (Debian: python3-httpx), the other client
 * Python users reach for: a raw body from a generator (sent chunked, no
 * `Content-Length`), the same through `PUT`, and a multipart form with a
 * file and a text field. The stored SHA-256, size, filename and type are
 * the file's.
 *
 * Runs `/usr/bin/python3` (or `PYTHON3_PATH`); CI installs python3-httpx.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";
import { hashFile } from "./fixtures/upload_client.ts";

const PYTHON = Deno.env.get("PYTHON3_PATH") ?? "/usr/bin/python3";

/** Prints one JSON line per upload: the request's framing and the answer. */
const SCRIPT = `
import json, sys, httpx
base, path = sys.argv[1], sys.argv[2]

def chunks():
    with open(path, "rb") as f:
        while piece := f.read(65536):
            yield piece

def report(r):
    print(json.dumps({
        "status": r.status_code,
        "chunked": r.request.headers.get("transfer-encoding") == "chunked",
        "body": r.json(),
    }))

with httpx.Client(timeout=30) as client:
    report(client.post(base + "/files", content=chunks(),
                       headers={"content-type": "application/octet-stream"}))
    report(client.put(base + "/files", content=chunks()))
    with open(path, "rb") as f:
        report(client.post(base + "/files", data={"note": "kept out"},
                           files={"file": ("report.pdf", f, "application/pdf")}))
`;

interface Reported {
  status: number;
  chunked: boolean;
  body: {
    size: number;
    sha256: string;
    filename?: string;
    contentType?: string;
  };
}

Deno.test("httpx: a generator body (chunked, POST and PUT) and a multipart form are stored intact", async () => {
  await using service = await serveApp({});
  await withTempDir(async (dir) => {
    const file = join(dir, "source.bin");
    const bytes = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    await Deno.writeFile(file, bytes);
    const { sha256, size } = await hashFile(file);
    await Deno.writeTextFile(join(dir, "upload.py"), SCRIPT);
    const out = await runTool(PYTHON, ["upload.py", service.url, file], {
      install: "apt-get install -y python3-httpx",
      cwd: dir,
    });
    assert.equal(out.code, 0, out.stderr);
    const [raw, put, form] = out.stdout.trim().split("\n").map((line) =>
      JSON.parse(line) as Reported
    );
    for (const upload of [raw!, put!]) {
      assert.equal(upload.status, 201);
      assert.equal(upload.chunked, true, "httpx sent a generator chunked");
      assert.equal(upload.body.size, size);
      assert.equal(upload.body.sha256, sha256);
    }
    assert.equal(form!.status, 201);
    assert.equal(form!.chunked, false);
    assert.equal(form!.body.size, size);
    assert.equal(form!.body.sha256, sha256);
    assert.equal(form!.body.filename, "report.pdf");
    assert.equal(form!.body.contentType, "application/pdf");
  });
});
