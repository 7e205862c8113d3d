/**
 * The Deno version is pinned in four places a user meets: README's
 * Prerequisites (`npm install -g deno@X`), `.ci/run` (`DENO_VERSION`), the
 * Dockerfile's build image (`denoland/deno:X`, whose denort the executable
 * runs on) and README's Docker section. They name one version, so the
 * image ships the runtime CI tested.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function found(file: string, pattern: RegExp): Promise<string[]> {
  const text = await Deno.readTextFile(new URL(file, ROOT));
  const versions = [...text.matchAll(pattern)].map((m) => m[1]!);
  assert.ok(versions.length > 0, `${file} names no version by ${pattern}`);
  return versions;
}

Deno.test("README, .ci/run and the Dockerfile pin one Deno version", async () => {
  const version = /(\d+\.\d+\.\d+)/.source;
  const pins = [
    ...await found("README.md", new RegExp(`deno@${version}`, "g")),
    ...await found("README.md", new RegExp(`denoland/deno:${version}`, "g")),
    ...await found(".ci/run", new RegExp(`^DENO_VERSION=${version}$`, "gm")),
    ...await found(
      "Dockerfile",
      new RegExp(`^FROM denoland/deno:${version}`, "gm"),
    ),
  ];
  assert.deepEqual(new Set(pins), new Set([pins[0]]), pins.join(", "));
});
