/**
 * `multipart/form-data` uploads over real HTTP from the clients people use:
 * `curl -F`, python `requests.post(files=...)` and a `FormData` fetch. The
 * stored file must be the file (size and SHA-256), not the form around it,
 * with its filename and content type in the metadata; forms that cannot be
 * taken get 400 or 415 and keep nothing.
 *
 * curl, wget and python3 with requests (Debian: curl, wget,
 * python3-requests) are test prerequisites; CI installs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { randomBytes } from "./fixtures/files_service.ts";
import { serveTempApp } from "./fixtures/served_app.ts";
import { listDir, tempDir } from "./fixtures/temp_dir.ts";
import { hashFile, rawRequest, sha256Hex } from "./fixtures/upload_client.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** The Debian python3, where python3-requests installs. */
const PYTHON = Deno.env.get("PYTHON3_PATH") ?? "/usr/bin/python3";

/** Runs a client command; throws naming the Debian package when missing. */
async function run(
  command: string,
  args: string[],
  debianPackage: string,
): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdin: "null" })
      .output();
  } catch (error) {
    throw new Error(
      `${command} is needed (apt-get install -y ${debianPackage}); CI installs it`,
      { cause: error },
    );
  }
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${command} failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

interface Created {
  id: string;
  size: number;
  sha256: string;
  filename?: string;
  contentType?: string;
}

/** Asserts the 201 body stored exactly `data`, and that only it is on disk. */
async function assertStoredFile(
  filesDir: string,
  created: Created,
  data: Uint8Array,
): Promise<void> {
  assert.equal(created.size, data.byteLength);
  assert.equal(created.sha256, sha256Hex(data));
  assert.deepEqual(await hashFile(join(filesDir, created.id)), {
    sha256: sha256Hex(data),
    size: data.byteLength,
  });
  assert.deepEqual(await listDir(filesDir), [created.id, `${created.id}.json`]);
}

async function assertProblem(res: Response, status: number) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  return JSON.parse(text) as Record<string, unknown>;
}

Deno.test("curl -F file=@x stores the file, not the form: size, SHA-256, filename and type", async () => {
  await using served = await serveTempApp();
  await using temp = await tempDir({ prefix: "multipart_test-" });
  const dir = temp.path;
  const data = randomBytes(5 * MiB);
  const path = join(dir, "photo.bin");
  await Deno.writeFile(path, data);
  const out = await run("curl", [
    "-sS",
    "-F",
    "note=before the file",
    "-F",
    `file=@${path}`,
    "-w",
    "\n%{http_code}",
    `${served.url}/files`,
  ], "curl");
  const [body, status] = out.split("\n");
  assert.equal(status, "201", body);
  const created = JSON.parse(body!) as Created;
  await assertStoredFile(served.filesDir, created, data);
  assert.equal(created.filename, "photo.bin");
  assert.equal(created.contentType, "application/octet-stream");

  // The listing keeps the name and type; a download is saved by name.
  const list = await (await fetch(`${served.url}/files`)).json();
  assert.equal(list.items[0].filename, "photo.bin");
  assert.equal(list.items[0].contentType, "application/octet-stream");
  const download = await fetch(`${served.url}/files/${created.id}`, {
    method: "HEAD",
  });
  assert.equal(
    download.headers.get("content-disposition"),
    "attachment; filename=photo.bin",
  );
});

Deno.test("python requests.post(files=...) stores the file with its name and content type", async () => {
  await using served = await serveTempApp();
  const dir = await Deno.makeTempDir({ prefix: "multipart_test-" });
  try {
    const data = randomBytes(3 * MiB + 17);
    const path = join(dir, "scan.pdf");
    await Deno.writeFile(path, data);
    const script = `
import json, sys, requests
with open(sys.argv[2], "rb") as f:
    r = requests.post(sys.argv[1], data={"title": "a scan"},
                      files={"document": ("scan.pdf", f, "application/pdf")})
print(json.dumps({"status": r.status_code, "body": r.text}))
`;
    const out = await run(
      PYTHON,
      ["-c", script, `${served.url}/files`, path],
      "python3-requests",
    );
    const { status, body } = JSON.parse(out);
    assert.equal(status, 201, body);
    const created = JSON.parse(body) as Created;
    await assertStoredFile(served.filesDir, created, data);
    assert.equal(created.filename, "scan.pdf");
    assert.equal(created.contentType, "application/pdf");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A FormData fetch stores the Blob part; fields around it are ignored", async () => {
  await using served = await serveTempApp();
  const data = randomBytes(256 * KiB);
  const form = new FormData();
  form.append("description", "x".repeat(1000));
  form.append(
    "upload",
    new Blob([data], { type: "text/plain" }),
    "naïve résumé.txt",
  );
  form.append("after", "more");
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    body: form,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const created = JSON.parse(text) as Created;
  await assertStoredFile(served.filesDir, created, data);
  assert.equal(created.filename, "naïve résumé.txt");
  assert.equal(created.contentType, "text/plain");
  const download = await fetch(`${served.url}/files/${created.id}`);
  assert.equal(
    download.headers.get("content-disposition"),
    `attachment; filename="naive resume.txt"; ` +
      `filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt`,
  );
  assert.equal(await download.bytes().then(sha256Hex), sha256Hex(data));
});

Deno.test("a filename with a double quote keeps it: curl, requests and FormData send it as %22 (the HTML form encoding), and the download names it", async () => {
  await using served = await serveTempApp();
  const dir = await Deno.makeTempDir({ prefix: "multipart_test-" });
  try {
    const name = 'the "best" of 100%22.txt';
    const path = join(dir, "plain.txt");
    await Deno.writeFile(path, new TextEncoder().encode("hello"));
    const form = new FormData();
    form.append("file", new Blob(["hello"]), name);
    const fetched = await fetch(`${served.url}/files`, {
      method: "POST",
      body: form,
    });
    const curled = await run("curl", [
      "-s",
      "-F",
      `file=@${path};filename=${name}`,
      `${served.url}/files`,
    ], "curl");
    const script = `
import sys, requests
r = requests.post(sys.argv[1], files={"file": (sys.argv[2], b"hello")})
print(r.text)
`;
    const posted = await run(
      PYTHON,
      ["-c", script, `${served.url}/files`, name],
      "python3-requests",
    );
    // Each sends filename="the %22best%22 of 100%22.txt": the HTML
    // standard's form encoding escapes only ", CR and LF, so a name's own
    // "%22" cannot be told apart from an escaped quote, and reads as one.
    const expected = 'the "best" of 100".txt';
    for (const text of [await fetched.text(), curled, posted]) {
      const created = JSON.parse(text) as Created;
      assert.equal(created.filename, expected, text);
      const res = await fetch(`${served.url}/files/${created.id}`, {
        method: "HEAD",
      });
      assert.equal(
        res.headers.get("content-disposition"),
        // The exact name in filename*, a plain one without the quotes
        // (tests/download_quoted_name_test.ts).
        `attachment; filename="the 'best' of 100'.txt"; ` +
          `filename*=UTF-8''the%20%22best%22%20of%20100%22.txt`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a filename's bidi controls are dropped: a right-to-left override made invoice<RLO>fdp.exe show as invoiceexe.pdf, and wget saved it so", async () => {
  await using served = await serveTempApp();
  const dir = await Deno.makeTempDir({ prefix: "multipart_test-" });
  try {
    // U+202E (RLO) reverses what follows it on screen, the spoofing of
    // MITRE ATT&CK T1036.002; U+2067, U+200F and U+061C are the other
    // kinds of bidi control (isolate, mark, Arabic letter mark).
    const script = `
import sys, requests
r = requests.post(sys.argv[1], files={"file": (
    "invoice\\u202efdp.exe", b"MZ")})
print(r.text)
r = requests.post(sys.argv[1], files={"file": (
    "a\\u2067b\\u200fc\\u061cd.txt", b"MZ")})
print(r.text)
`;
    const posted = await run(
      PYTHON,
      ["-c", script, `${served.url}/files`],
      "python3-requests",
    );
    const [spoof, others] = posted.trim().split("\n").map((line) =>
      JSON.parse(line) as Created
    );
    assert.equal(spoof!.filename, "invoicefdp.exe");
    assert.equal(others!.filename, "abcd.txt");
    // wget takes filename* (RFC 6266) as the name it saves under.
    await run("wget", [
      "-q",
      "--content-disposition",
      "-P",
      dir,
      `${served.url}/files/${spoof!.id}`,
    ], "wget");
    assert.deepEqual(await listDir(dir), ["invoicefdp.exe"]);
    const listed = await (await fetch(`${served.url}/files`)).json() as {
      items: Created[];
    };
    assert.deepEqual(
      listed.items.map((item) => item.filename).sort(),
      ["abcd.txt", "invoicefdp.exe"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a filename's C1 control characters are dropped as the C0 ones are: U+0085 (a line break to some readers) and U+009B (a terminal's CSI) were kept", async () => {
  await using served = await serveTempApp();
  const form = new FormData();
  form.append("file", new Blob(["MZ"]), "a\u0085b\u009b31mc\u0080.txt");
  const res = await fetch(`${served.url}/files`, {
    method: "POST",
    body: form,
  });
  const created = await res.json() as Created;
  assert.equal(res.status, 201);
  assert.equal(created.filename, "ab31mc.txt");
  const head = await fetch(`${served.url}/files/${created.id}`, {
    method: "HEAD",
  });
  assert.equal(
    head.headers.get("content-disposition"),
    "attachment; filename=ab31mc.txt",
  );
});

Deno.test("Forms that cannot be taken: 415 for urlencoded and other multipart types, 400 for no, two or a cut-off file part; nothing kept", async () => {
  await using served = await serveTempApp();
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${served.url}/files`, { method: "POST", body, headers });

  // curl --data-binary's default type, and a real urlencoded form.
  const urlencoded = await post(new URLSearchParams({ file: "x.bin" }));
  await assertProblem(urlencoded, 415);
  assert.equal(
    urlencoded.headers.get("accept-post"),
    "application/octet-stream, multipart/form-data",
  );
  const mixed = await post("--b\r\n\r\nx\r\n--b--\r\n", {
    "content-type": "multipart/mixed; boundary=b",
  });
  await assertProblem(mixed, 415);

  const fieldsOnly = new FormData();
  fieldsOnly.append("name", "value");
  const noFile = await assertProblem(await post(fieldsOnly), 400);
  assert.match(String(noFile.detail), /no file part/);

  const two = new FormData();
  two.append("a", new Blob([randomBytes(1000)]), "a.bin");
  two.append("b", new Blob([randomBytes(1000)]), "b.bin");
  const twoFiles = await assertProblem(await post(two), 400);
  assert.match(String(twoFiles.detail), /more than one file/);

  const noBoundary = await post("x", { "content-type": "multipart/form-data" });
  await assertProblem(noBoundary, 400);

  // The file part complete, but the form never closed.
  const cut = new TextEncoder().encode(
    "--b\r\ncontent-disposition: form-data; name=f; filename=c.bin\r\n\r\n" +
      "0123456789\r\n--b\r\ncontent-disposition: form-data; name=g\r\n\r\nv",
  );
  const res = await rawRequest(served.addr, {
    headers: {
      "content-type": "multipart/form-data; boundary=b",
      "content-length": String(cut.byteLength),
    },
    body: [cut],
  });
  assert.equal(res.status, 400, new TextDecoder().decode(res.body));

  assert.deepEqual(await listDir(served.filesDir), []);
});

Deno.test("Content-Digest of a form is checked against the whole form body", async () => {
  await using served = await serveTempApp();
  const data = randomBytes(64 * KiB);
  const form = new FormData();
  form.append("file", new Blob([data]), "d.bin");
  // Serialise the form as fetch would, to know its bytes and digest.
  const request = new Request("http://x/", { method: "POST", body: form });
  const body = new Uint8Array(await request.arrayBuffer());
  const type = request.headers.get("content-type")!;
  const digestOf = (bytes: Uint8Array) =>
    `sha-256=:${Buffer.from(sha256Hex(bytes), "hex").toString("base64")}:`;

  const ok = await fetch(`${served.url}/files`, {
    method: "POST",
    body,
    headers: { "content-type": type, "content-digest": digestOf(body) },
  });
  const created = JSON.parse(await ok.text()) as Created;
  assert.equal(ok.status, 201);
  assert.equal(created.sha256, sha256Hex(data));

  const wrong = await fetch(`${served.url}/files`, {
    method: "POST",
    body,
    headers: { "content-type": type, "content-digest": digestOf(data) },
  });
  const problem = await assertProblem(wrong, 400);
  assert.equal(problem.title, "Digest mismatch");
  assert.deepEqual(await listDir(served.filesDir), [
    created.id,
    `${created.id}.json`,
  ]);
});
