/**
 * The `deno bundle` artifact is self-contained: `main.ts` bundled into one
 * JavaScript file, copied alone into an empty folder, runs there under
 * `deno run` with the start task's narrow permissions, no config file and an
 * empty `DENO_DIR` (so nothing can be fetched or read from a module cache),
 * and serves `/`, a cached JSONPlaceholder route, an upload and the `/docs`
 * page with its assets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnService } from "./fixtures/spawn.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";
import { listDir as entries, tempDir } from "./fixtures/temp_dir.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");

/**
 * The permission flags of the `start` task in deno.json, with read/write
 * moved from `./data` to `dataDir`: the bundle gets no more than that.
 */
async function startPermissions(dataDir: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const command: string = config.tasks.start.command;
  const flags = command.split(/\s+/).filter((arg) => arg.startsWith("--"));
  assert.ok(flags.includes("--allow-read=./data"), command);
  assert.ok(flags.includes("--allow-write=./data"), command);
  assert.ok(!flags.some((flag) => /^--allow-(all|run|ffi)\b|^-A$/.test(flag)));
  return flags.map((flag) =>
    flag === "--allow-read=./data"
      ? `--allow-read=${dataDir}`
      : flag === "--allow-write=./data"
      ? `--allow-write=${dataDir}`
      : flag
  );
}

async function bundle(output: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "-o", output, MAIN],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

/** Every file under `dir`, recursively; none if it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) files.push(...await filesUnder(path));
      else files.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}

Deno.test("the bundle runs alone from an empty folder and serves every kind of route", async () => {
  await using workDir = await tempDir({ prefix: "async-api-bundle-" });
  const work = workDir.path;
  const build = join(work, "build");
  const run = join(work, "run");
  const dataDir = join(work, "data");
  const denoDir = join(work, "deno-dir");
  for (const dir of [build, run, dataDir, denoDir]) await Deno.mkdir(dir);

  await bundle(join(build, "async-api.js"));
  assert.deepEqual(await entries(build), ["async-api.js"]);
  const script = join(run, "async-api.js");
  await Deno.copyFile(join(build, "async-api.js"), script);
  assert.deepEqual(await entries(run), ["async-api.js"]);

  await using upstream = startFixtureUpstream();
  const permissions = await startPermissions(dataDir);
  {
    await using service = await spawnService([], {
      script,
      cwd: run,
      // No deno.json, no lock file, no import map: only the file.
      denoArgs: ["--no-prompt", "--no-config", ...permissions],
      env: {
        DENO_DIR: denoDir,
        NO_COLOR: "1",
        PORT: "0",
        UPSTREAM_URL: upstream.url,
        DATA_DIR: dataDir,
      },
    });
    assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const root = await fetch(`${service.url}/`);
    assert.equal(root.status, 200);
    assert.deepEqual(await root.json(), { Hello: "World" });

    const first = await fetch(`${service.url}/posts/1`);
    assert.equal(first.status, 200);
    assert.equal((await first.json()).id, 1);
    assert.match(first.headers.get("cache-status") ?? "", /fwd=miss/);
    const second = await fetch(`${service.url}/posts/1`);
    assert.equal(second.status, 200);
    assert.equal((await second.json()).id, 1);
    assert.match(second.headers.get("cache-status") ?? "", /\bhit\b/);
    assert.equal(upstream.hits("/posts/1"), 1);

    // 200 kB over several request-body chunks, and not all one byte.
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 131) % 251);
    const created = await fetch(`${service.url}/files`, {
      method: "POST",
      body: bytes,
    });
    assert.equal(created.status, 201);
    const { id, size } = await created.json();
    assert.equal(size, bytes.byteLength);
    assert.equal(created.headers.get("location"), `/files/${id}`);
    const download = await fetch(`${service.url}/files/${id}`);
    assert.equal(download.status, 200);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), bytes);
    assert.deepEqual(
      await Deno.readFile(join(dataDir, "files", id)),
      bytes,
    );

    // The page and its assets: imported as text, so inside the bundle.
    const docs = await fetch(`${service.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get("content-type") ?? "", /^text\/html/);
    const page = await docs.text();
    assert.match(page, /swagger-ui-bundle\.js/);
    const ui = await fetch(`${service.url}/assets/swagger-ui-bundle.js`);
    assert.equal(ui.status, 200);
    assert.match(ui.headers.get("content-type") ?? "", /javascript/);
    assert.ok((await ui.text()).includes("SwaggerUIBundle"));
    const css = await fetch(`${service.url}/assets/swagger-ui.css`);
    assert.equal(css.status, 200);
    assert.ok((await css.text()).includes(".swagger-ui"));
    // The upload page's HTML, script and styles: local text imports.
    for (
      const [path, text] of [
        ["/upload", "upload.js"],
        ["/assets/upload.js", "readEvents"],
        ["/assets/upload_events.js", "unwatch"],
        ["/assets/upload.css", ".lanes"],
      ]
    ) {
      const res = await fetch(`${service.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.ok((await res.text()).includes(text!), path);
    }
    const openapi = await fetch(`${service.url}/openapi.json`);
    assert.equal(openapi.status, 200);
    assert.ok((await openapi.json()).paths["/posts/{id}"]);

    service.kill("SIGTERM");
    const status = await service.status;
    assert.equal(status.code, 0, service.stderr);
    await service.waitForLine((r) => r.msg === "shutdown.end");
    assert.equal(service.stderr.includes("error"), false, service.stderr);
  }

  // Nothing was downloaded into the empty DENO_DIR (Deno makes an empty
  // npm/ there and its analysis and code caches, which is fine).
  const downloaded: string[] = [];
  for (const name of ["npm", "remote"]) {
    downloaded.push(...await filesUnder(join(denoDir, name)));
  }
  assert.deepEqual(downloaded, []);
  // The run folder still holds the one file: nothing was written beside it.
  assert.deepEqual(await entries(run), ["async-api.js"]);
});

Deno.test("README's command for the bundle has the start task's flags", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  // Its continued lines joined, as the shell reads them.
  const joined = readme.replace(/\\\n\s*/g, " ");
  const command = /\ndeno run ([^\n]*) dist\/async-api\.js\n/.exec(joined)?.[1];
  assert.ok(command, "README runs dist/async-api.js with deno run");
  const flags = command.split(/\s+/);
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const start = (config.tasks.start.command as string).split(/\s+/)
    .filter((arg) => arg.startsWith("--"));
  for (const flag of start) {
    // The narrow list or all of the environment: the bundle reads only it.
    if (flag.startsWith("--allow-env=")) {
      assert.ok(flags.includes(flag) || flags.includes("--allow-env"));
    } else assert.ok(flags.includes(flag), `${flag} in ${command}`);
  }
});
