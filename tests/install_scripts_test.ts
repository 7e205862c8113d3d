/**
 * `deno install --frozen` of deno.json and deno.lock into an empty folder
 * (what a new clone's first `deno task start` does) ends without the
 * "Ignored build scripts" warning: the one package with an install script,
 * `@scarf/scarf` (swagger-ui-dist's install-time analytics), is denied in
 * deno.json's `allowScripts`, so nobody is told to run
 * `deno approve-scripts` and send the analytics.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("deno install of a fresh clone names no ignored build script", async () => {
  const dir = await Deno.makeTempDir({ prefix: "async-api-install-" });
  try {
    for (const name of ["deno.json", "deno.lock"]) {
      await Deno.copyFile(new URL(name, ROOT), `${dir}/${name}`);
    }
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--frozen"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stderr);
    assert.equal(code, 0, text);
    assert.ok(text.includes("Initialize @scarf/scarf"), text.slice(-2000));
    assert.doesNotMatch(text, /Ignored build scripts|approve-scripts/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
