/**
 * The pages and their assets are dated by their content
 * (`services/http/text_dates.ts`), not by the process's start: two
 * instances of a release, or one before and after a restart, send the same
 * `Last-Modified`, so a client that revalidates by date alone gets `304`
 * from either. Before, `curl -R` saving `/upload` from one instance and
 * `curl -z` asking another started later got the page again (200), as
 * `wget -N` (so a `wget --mirror` cron job) did after every restart and
 * alternately behind a balancer. Browsers were not concerned: they send
 * the `ETag` back too, which wins.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { testApp } from "./fixtures/app.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { DATED_PATHS, RECORD, servedTags } from "./fixtures/text_dates.ts";
import { until } from "./fixtures/until.ts";

/**
 * Resolves once the clock is in a later whole second than `ms` (HTTP dates
 * have no finer grain): what the tests wait for, rather than a sleep.
 */
function pastTheSecondOf(ms: number): Promise<void> {
  const second = Math.floor(ms / 1000);
  return until(
    () => Math.floor(Date.now() / 1000) > second,
    `a second later than ${new Date(ms).toISOString()}`,
  );
}

async function curl(args: string[]): Promise<string> {
  const out = await new Deno.Command("curl", { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test("every page and asset served is in the record of dates", async () => {
  const record = JSON.parse(await Deno.readTextFile(RECORD));
  for (const [path, tag] of await servedTags()) {
    assert.ok(
      typeof record[tag] === "string",
      `${path} (tag ${tag}) has no recorded date: ` +
        "deno run -A tests/fixtures/text_dates.ts",
    );
  }
});

Deno.test("a page saved from one instance is not modified at another started later (curl -R, then curl -z)", async () => {
  await using a = await testApp([]);
  const aMade = Date.now();
  await using first = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    a.app.fetch,
  );
  // A date is sent from the second after it was made on (RFC 9110 8.8.2.2).
  await pastTheSecondOf(aMade);
  await withTempDir(async (dir) => {
    const saved = (path: string) => join(dir, path.replaceAll("/", "_"));
    for (const path of DATED_PATHS) {
      const url = `http://127.0.0.1:${first.addr.port}${path}`;
      await curl(["-sS", "-R", "-o", saved(path), url]);
    }
    // Another instance (or this one restarted) in a later second than the
    // first's start: a date of the start would differ.
    await pastTheSecondOf(aMade);
    await using b = await testApp([]);
    const bMade = Date.now();
    await using second = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      b.app.fetch,
    );
    await pastTheSecondOf(bMade);
    for (const path of DATED_PATHS) {
      const url = `http://127.0.0.1:${second.addr.port}${path}`;
      const status = await curl([
        "-sS",
        "-z",
        saved(path),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url,
      ]);
      assert.equal(status, "304", path);
      const dated = await fetch(url, { method: "HEAD" });
      const before = await a.get(path, { method: "HEAD" });
      assert.equal(
        dated.headers.get("last-modified"),
        before.headers.get("last-modified"),
        path,
      );
    }
  });
});
