/**
 * The pages as crawlers and mirrors fetch them: `wget --mirror
 * --page-requisites --convert-links` of `/upload` and `/docs` keeps both
 * pages and every script and style they load, its links turned to the
 * saved files; a second run, as a cron job mirrors, asks only by date
 * (`wget -N` sends `If-Modified-Since`) and downloads nothing again; and
 * `curl -z` against a saved page gets a 304.
 *
 * Before, the assets lived under the pages' paths (`/upload/upload.js`):
 * wget deleted the saved page `upload` to make a folder of that name, so
 * the mirror held no page at all, and with no `Last-Modified` every run
 * downloaded the 1.8 MB again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { type LogRecord, serveApp } from "./fixtures/served_app.ts";

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  assert.ok(out.success || cmd === "wget", `${cmd}: ${text}`);
  return text;
}

/**
 * Until the pages' date is strong enough to be sent (a second after the
 * start), or 3 s (a service that sends none).
 */
async function waitForDate(url: string): Promise<void> {
  for (let tries = 0; tries < 30; tries++) {
    const res = await fetch(`${url}/upload`, { method: "HEAD" });
    await res.body?.cancel();
    if (res.headers.has("last-modified")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function answers(records: readonly LogRecord[]): string[] {
  return records.filter((r) => r.msg === "request")
    .map((r) => `${r.path} ${r.status}`);
}

function mirrorArgs(url: string): string[] {
  return [
    "--mirror",
    "--page-requisites",
    "--convert-links",
    "-nv",
    `${url}/upload`,
    `${url}/docs`,
  ];
}

Deno.test("wget --mirror --page-requisites --convert-links keeps both pages and what they load", async () => {
  await using service = await serveApp({});
  const dir = await Deno.makeTempDir({ prefix: "pages_mirror-" });
  try {
    const log = await run("wget", mirrorArgs(service.url), dir);
    const saved = join(dir, new URL(service.url).host);
    for (const page of ["upload", "docs"]) {
      const html = await Deno.readTextFile(join(saved, page)).catch(() => "");
      assert.match(html, /^<!doctype html>/i, `${page} saved: ${log}`);
      const links = [...html.matchAll(/(?:src|href)="([^"#:]+)"/g)]
        .map((m) => m[1]!).filter((link) => link !== page);
      assert.ok(links.length >= 2, `${page}: ${links}`);
      for (const link of links) {
        // Converted to the saved files, relative to the page's folder.
        const file = join(dirname(join(saved, page)), link);
        const size = (await Deno.stat(file)).size;
        assert.ok(size > 0, `${page} -> ${link}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second wget --mirror and curl -z ask by date and download nothing again", async () => {
  await using service = await serveApp({});
  const dir = await Deno.makeTempDir({ prefix: "pages_mirror-" });
  try {
    await waitForDate(service.url);
    await run("wget", mirrorArgs(service.url), dir);
    const before = service.records.length;
    await run("wget", mirrorArgs(service.url), dir);
    const again = answers(service.records.slice(before));
    assert.ok(again.length > 0, "the second run asked");
    assert.deepEqual(
      again.filter((a) => !a.endsWith(" 304")),
      [],
      `the second run downloaded again: ${again}`,
    );

    const saved = join(dir, new URL(service.url).host);
    for (const path of ["docs", "assets/swagger-ui-bundle.js"]) {
      const code = await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-z",
        join(saved, path),
        `${service.url}/${path}`,
      ], dir);
      assert.equal(code, "304", path);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
