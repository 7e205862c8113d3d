/**
 * Uploads as real command-line and library clients send them to a URL
 * ending in `/` or naming the file: curl (`-T file URL/`, which appends the
 * name, `-T 'my file.bin'`, `-T '{a,b}.bin'` on one connection, `-T -`
 * from a pipe, chunked, and `-F` to `URL/`), `wget --method=PUT
 * --body-file`, httpie (`http PUT URL < file`), python `requests.put` and
 * `httpx.put` with an open file. Each was 405 (`PUT /files/<name>`), a
 * 308 that stored nothing (`/files/`: curl shows it and exits 0, and
 * cannot send a pipe again), or 415 (wget's urlencoded label).
 *
 * Needs curl, wget, httpie, python3-requests and python3-httpx (Debian);
 * CI installs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serveApp } from "./fixtures/served_app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";
import { hashFile } from "./fixtures/upload_client.ts";
import { randomBytes } from "./fixtures/files_service.ts";

const PYTHON = Deno.env.get("PYTHON3_PATH") ?? "/usr/bin/python3";
const CURL = { install: "apt-get install -y curl" };

/** What a 201 says of the stored file. */
interface Stored {
  id: string;
  size: number;
  sha256: string;
  filename?: string;
  contentType?: string;
}

/** Writes `size` random bytes to `dir/name`; resolves their digest. */
async function sourceFile(
  dir: string,
  name: string,
  size = 300_000,
): Promise<{ sha256: string; size: number }> {
  const path = join(dir, name);
  await Deno.writeFile(path, randomBytes(size));
  return await hashFile(path);
}

/** The JSON answers curl printed, each followed by `-w`'s status line. */
function curlAnswers(stdout: string): { status: string; json: Stored }[] {
  const lines = stdout.split("\n").filter((line) => line !== "");
  const answers = [];
  for (let i = 0; i < lines.length; i += 2) {
    answers.push({
      json: JSON.parse(lines[i]!) as Stored,
      status: lines[i + 1]!,
    });
  }
  return answers;
}

Deno.test("curl -T to URL/ (the name appended, escaped, globbed, piped) and -F to URL/: 201, named", async () => {
  await using service = await serveApp({});
  const base = `${service.url}/files/`;
  await withTempDir(async (dir) => {
    const big = await sourceFile(dir, "big.bin");
    const spaced = await sourceFile(dir, "my file.bin");
    const a = await sourceFile(dir, "a.bin");
    const b = await sourceFile(dir, "b.bin");
    const write = ["-sS", "-w", "\\n%{http_code} %{num_connects}\\n"];
    const run = (args: string[], stdin?: Uint8Array) =>
      runTool("curl", [...write, ...args], {
        ...CURL,
        cwd: dir,
        ...(stdin === undefined ? {} : { stdin }),
      });

    for (
      const [name, digest] of [["big.bin", big], [
        "my file.bin",
        spaced,
      ]] as const
    ) {
      const out = await run(["-T", name, base]);
      assert.equal(out.code, 0, out.stderr);
      const [answer] = curlAnswers(out.stdout);
      assert.equal(answer!.status, "201 1", out.stdout);
      assert.equal(answer!.json.filename, name);
      assert.equal(answer!.json.sha256, digest!.sha256);
    }

    // Globbing: one connection, each file under its own name.
    const globbed = await run(["-T", "{a,b}.bin", base]);
    assert.equal(globbed.code, 0, globbed.stderr);
    const [first, second] = curlAnswers(globbed.stdout);
    assert.deepEqual(
      [first!.status, second!.status],
      ["201 1", "201 0"],
      "the second upload reuses the connection",
    );
    assert.equal(first!.json.filename, "a.bin");
    assert.equal(first!.json.sha256, a.sha256);
    assert.equal(second!.json.filename, "b.bin");
    assert.equal(second!.json.sha256, b.sha256);

    // From a pipe: chunked; curl names nothing for `-` (the 308 it got
    // stored nothing), or the name in the URL.
    const piped = randomBytes(200_000);
    for (
      const [url, filename] of [[base, undefined], [
        `${base}piped.txt`,
        "piped.txt",
      ]]
    ) {
      const out = await run(["-T", "-", url!], piped);
      assert.equal(out.code, 0, out.stderr);
      const [answer] = curlAnswers(out.stdout);
      assert.equal(answer!.status, "201 1", `${url}: ${out.stdout}`);
      assert.equal(answer!.json.size, piped.length);
      assert.equal(answer!.json.filename, filename);
    }

    const form = await run(["-F", "file=@big.bin", base]);
    assert.equal(form.code, 0, form.stderr);
    const [formAnswer] = curlAnswers(form.stdout);
    assert.equal(formAnswer!.status, "201 1", form.stdout);
    assert.equal(formAnswer!.json.sha256, big.sha256);
  });
});

Deno.test("wget --method=PUT --body-file (labelled urlencoded by wget): 201, the bytes, no type kept", async () => {
  await using service = await serveApp({});
  await withTempDir(async (dir) => {
    const big = await sourceFile(dir, "big.bin");
    // To /files/<name> (it was 405) and to /files (it was 415).
    for (
      const [path, filename] of [["/files/big.bin", "big.bin"], [
        "/files",
        undefined,
      ]]
    ) {
      const out = await runTool("wget", [
        "-q",
        "-O",
        "-",
        "--content-on-error",
        "--method=PUT",
        "--body-file=big.bin",
        `${service.url}${path}`,
      ], { install: "apt-get install -y wget", cwd: dir });
      assert.equal(out.code, 0, `${path}: ${out.stdout} ${out.stderr}`);
      const stored = JSON.parse(out.stdout) as Stored;
      assert.equal(stored.sha256, big.sha256);
      assert.equal(stored.filename, filename);
      assert.equal(stored.contentType, undefined);
    }
  });
});

Deno.test("httpie: http PUT URL/files/<name> < file is stored whole, named, with httpie's JSON label", async () => {
  await using service = await serveApp({});
  await withTempDir(async (dir) => {
    const big = await sourceFile(dir, "big.bin");
    const out = await runTool("http", [
      "--check-status",
      "--body",
      "PUT",
      `${service.url}/files/big.bin`,
    ], {
      install: "apt-get install -y httpie",
      cwd: dir,
      stdin: await Deno.readFile(join(dir, "big.bin")),
      env: { HOME: dir },
    });
    assert.equal(out.code, 0, `${out.stdout} ${out.stderr}`);
    const stored = JSON.parse(out.stdout) as Stored;
    assert.equal(stored.sha256, big.sha256);
    assert.equal(stored.size, big.size);
    assert.equal(stored.filename, "big.bin");
    // httpie labels a body from stdin application/json (its JSON mode):
    // kept as declared, like every raw body's type.
    assert.equal(stored.contentType, "application/json");
  });
});

/** One JSON line per upload: the status, the framing, the answer. */
const PYTHON_SCRIPT = `
import json, sys, requests, httpx
base, path = sys.argv[1], sys.argv[2]

def report(status, headers, body, chunked):
    print(json.dumps({"status": status, "location": headers.get("location"),
                      "chunked": chunked, "body": body}))

with open(path, "rb") as f:
    r = requests.put(base + "/files/big.bin", data=f)
    report(r.status_code, r.headers, r.json(),
           "transfer-encoding" in r.request.headers)
with open(path, "rb") as f:
    r = requests.put(base + "/files/my report.pdf", data=f)
    report(r.status_code, r.headers, r.json(),
           "transfer-encoding" in r.request.headers)
with httpx.Client(timeout=30) as client, open(path, "rb") as f:
    r = client.put(base + "/files/big.bin", content=f)
    report(r.status_code, r.headers, r.json(),
           "transfer-encoding" in r.request.headers)
`;

Deno.test("python requests.put and httpx.put with an open file to /files/<name>: 201, named, Location of the file", async () => {
  await using service = await serveApp({});
  await withTempDir(async (dir) => {
    const big = await sourceFile(dir, "big.bin");
    await Deno.writeTextFile(join(dir, "put.py"), PYTHON_SCRIPT);
    const out = await runTool(
      PYTHON,
      ["put.py", service.url, join(dir, "big.bin")],
      {
        install: "apt-get install -y python3-requests python3-httpx",
        cwd: dir,
      },
    );
    assert.equal(out.code, 0, out.stderr);
    const answers = out.stdout.trim().split("\n").map((line) =>
      JSON.parse(line) as {
        status: number;
        location: string;
        chunked: boolean;
        body: Stored;
      }
    );
    assert.deepEqual(
      answers.map((x) => [x.status, x.body.filename]),
      [[201, "big.bin"], [201, "my report.pdf"], [201, "big.bin"]],
    );
    for (const answer of answers) {
      assert.equal(answer.location, `/files/${answer.body.id}`);
      assert.equal(answer.body.sha256, big.sha256);
      const got = await fetch(`${service.url}${answer.location}`);
      assert.equal(got.status, 200);
      await got.body?.cancel();
    }
  });
});
