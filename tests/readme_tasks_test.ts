/**
 * README names every task of deno.json (`deno task <name>`), so a reader of
 * README learns each command `deno task` lists, and names no task that
 * deno.json lacks.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("README names every deno.json task, and no other", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { tasks: Record<string, unknown> };
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const named = new Set(
    [...readme.matchAll(/\bdeno task ([a-z][a-z0-9-]*)/g)].map((m) => m[1]!),
  );
  assert.deepEqual([...named].sort(), Object.keys(config.tasks).sort());
});
