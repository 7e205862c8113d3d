/**
 * The pages as crawlers and mirrors fetch them: `wget --mirror
 * --page-requisites --convert-links` of `/upload` and `/docs` keeps both
 * pages and every script and style they load, its links turned to the
 * saved files.
 *
 * Before, the assets lived under the pages' paths (`/upload/upload.js`):
 * wget deleted the saved page `upload` to make a folder of that name, so
 * the mirror held no page at all.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { serveApp } from "./fixtures/served_app.ts";

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  assert.ok(out.success || cmd === "wget", `${cmd}: ${text}`);
  return text;
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
