/**
 * Names as hostile and international clients send them, through a form's
 * file part and `PUT /files/<name>`, then what the listing gives and what
 * `curl -OJ`, `wget --content-disposition`, chromium and python's
 * `email.message` (the stdlib's reading of `Content-Disposition` after
 * `requests.get`) save the download as: always one file in the download
 * folder, never a path, a header of the name's own, or a reversed
 * extension. Before, curl and python took the `?` fallback
 * (`na?ve r?sum?.txt`), a long name lost its extension (255 code points,
 * up to 1020 bytes), and zero-width characters were kept.
 *
 * Needs curl, wget, python3-requests and chromium; CI installs them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { chromiumPerFile, withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { listDir, withTempDir } from "./fixtures/temp_dir.ts";
import { runTool } from "./fixtures/tool.ts";

const browser = chromiumPerFile();

/** A name as sent, and what each client saves (`stored` by default). */
interface Case {
  /** A form part's `filename` parameter's bytes, or a PUT's path segment. */
  form?: string;
  put?: string;
  /** The name kept and listed (`undefined`: none, saved under the id). */
  stored: string | undefined;
  /** curl's and python's (the plain `filename`). */
  curl: string | undefined;
  chromium?: string;
  /** wget's and chromium's names when they are not `stored`. */
  wget?: string;
}

const CASES: Case[] = [
  {
    form: "na\u00efve r\u00e9sum\u00e9.txt",
    stored: "na\u00efve r\u00e9sum\u00e9.txt",
    curl: "naive resume.txt",
  },
  {
    put: "..%EF%BC%8F..%EF%BC%8Fetc%EF%BC%8Fpasswd",
    stored: "..\uff0f..\uff0fetc\uff0fpasswd",
    curl: ".._.._etc_passwd",
    // Chromium drops leading dots itself.
    chromium: "\uff0f..\uff0fetc\uff0fpasswd",
  },
  { put: "..%2F..%2Fetc%2Fpasswd", stored: "passwd", curl: "passwd" },
  { form: "C:\\Users\\me\\a.txt", stored: "a.txt", curl: "a.txt" },
  {
    put: "invoice%E2%80%AEfdp.exe",
    stored: "invoicefdp.exe",
    curl: "invoicefdp.exe",
  },
  {
    form: "a%0D%0ASet-Cookie: x=1%0D%0A.txt",
    stored: "aSet-Cookie: x=1.txt",
    curl: "aSet-Cookie: x=1.txt",
    // Chromium makes a : _ (Windows' drive letters).
    chromium: "aSet-Cookie_ x=1.txt",
  },
  { put: "nul%00l%1B%5B2J.txt", stored: "null[2J.txt", curl: "null[2J.txt" },
  {
    put: "in%E2%80%8Bvoice%EF%BB%BF.pdf",
    stored: "invoice.pdf",
    curl: "invoice.pdf",
  },
  { put: "%E6%8A%A5%E5%91%8A.pdf", stored: "\u62a5\u544a.pdf", curl: "__.pdf" },
  { form: "...", stored: undefined, curl: undefined },
  { put: "CON", stored: "CON", curl: "CON" },
  {
    put: "%C3%A9".repeat(300) + ".pdf",
    stored: "\u00e9".repeat(125) + ".pdf",
    curl: "e".repeat(125) + ".pdf",
    // wget 1.21 cuts a name to 236 bytes of its percent-encoded form
    // (é is 6), whatever its length: its own limit, not the header's.
    wget: "\u00e9".repeat(57),
  },
];

/** POSTs a form whose file part's filename parameter is `name`, raw. */
async function postForm(origin: string, name: string): Promise<Response> {
  const head = `--B\r\nContent-Disposition: form-data; name="f"; ` +
    `filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return await fetch(`${origin}/files`, {
    method: "POST",
    headers: { "content-type": "multipart/form-data; boundary=B" },
    body: new TextEncoder().encode(`${head}hello\r\n--B--\r\n`),
  });
}

/** The names the listing gives, by id. */
async function listedNames(origin: string): Promise<Map<string, unknown>> {
  const body = await (await fetch(`${origin}/files?limit=100`)).json();
  return new Map(
    body.items.map((item: { id: string; filename?: string }) => [
      item.id,
      item.filename,
    ]),
  );
}

/** The one file `args` (a command and its arguments) saves in a folder. */
async function savedBy(args: string[]): Promise<string> {
  let saved: string[] = [];
  await withTempDir(async (dir) => {
    const out = await runTool(args[0]!, args.slice(1), {
      install: `apt-get install -y ${args[0]}`,
      cwd: dir,
    });
    assert.equal(out.code, 0, out.stderr);
    saved = await listDir(dir);
    assert.equal(saved.length, 1, `${args[0]}: ${saved}`);
    assert.equal(await Deno.readTextFile(join(dir, saved[0]!)), "hello");
  });
  return saved[0]!;
}

const PYTHON = `
import sys, requests
from email.message import Message
r = requests.get(sys.argv[1])
m = Message()
m["content-disposition"] = r.headers.get("content-disposition", "")
sys.stdout.write(m.get_filename() or "")
`;

/** What chromium saves the download at `url` as, clicked on `page`. */
async function chromiumSaves(page: Page, url: string): Promise<string> {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.evaluate(`(() => {
      const a = document.createElement("a");
      a.href = ${JSON.stringify(url)};
      document.body.append(a);
      a.click();
      a.remove();
    })()`),
  ]);
  const name = download.suggestedFilename();
  await download.delete();
  return name;
}

/** The header's safety, then what each client saves file `id` as. */
async function savedNames(
  origin: string,
  page: Page,
  id: string,
): Promise<Record<string, string>> {
  const url = `${origin}/files/${id}`;
  const head = await fetch(url, { method: "HEAD" });
  assert.equal(head.headers.get("set-cookie"), null);
  assert.match(head.headers.get("content-disposition") ?? "", /^[ -~]*$/);
  const python = await runTool("python3", ["-c", PYTHON, url], {
    install: "apt-get install -y python3-requests",
  });
  assert.equal(python.code, 0, python.stderr);
  return {
    curl: await savedBy(["curl", "-sS", "-OJ", url]),
    wget: await savedBy(["wget", "-q", "--content-disposition", url]),
    python: python.stdout,
    chromium: await chromiumSaves(page, url),
  };
}

/** What `c` should be saved as by each client, the file's id being `id`. */
function expectedNames(c: Case, id: string): Record<string, string> {
  return {
    curl: c.curl ?? id,
    wget: c.wget ?? c.stored ?? id,
    python: c.curl ?? "",
    chromium: c.chromium ?? c.stored ?? id,
  };
}

/** Uploads `c`'s name to `origin`; answers the 201's id and filename. */
async function upload(
  origin: string,
  c: Case,
): Promise<{ id: string; filename?: string }> {
  const res = c.form !== undefined
    ? await postForm(origin, c.form)
    : await fetch(`${origin}/files/${c.put}`, { method: "PUT", body: "hello" });
  const created = await res.json();
  assert.equal(res.status, 201, JSON.stringify(created));
  return created;
}

Deno.test("hostile and international names: stored, listed, and saved by curl -OJ, wget, chromium and python", async () => {
  await using t = await testApp([]);
  await withChromiumPage(t.app.fetch, async ({ origin, page }) => {
    const created = [];
    for (const c of CASES) created.push(await upload(origin, c));
    const listed = await listedNames(origin);
    await page.goto(`${origin}/openapi.json`);
    const actual = [];
    const expected = [];
    for (const [i, c] of CASES.entries()) {
      const { id, filename } = created[i]!;
      const what = c.form ?? c.put;
      actual.push({
        what,
        filename,
        listed: listed.get(id),
        ...await savedNames(origin, page, id),
      });
      expected.push({
        what,
        filename: c.stored,
        listed: c.stored,
        ...expectedNames(c, id),
      });
    }
    assert.deepEqual(actual, expected);
  }, { browser: browser() });
});
