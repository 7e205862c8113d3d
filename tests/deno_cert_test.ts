/**
 * `DENO_CERT` naming a file that does not exist, as a typo or a volume not
 * mounted leaves it: the runtime reads it at the first HTTP client made
 * (the S3 bucket's with `S3_ENDPOINT`, else the upstream's), and that
 * threw out of the start, an uncaught error with its stack, exit 1. Now the
 * start stops with one line naming `DENO_CERT`, exit 2, under `deno run`
 * (`main.ts`) and `deno serve` (`serve.ts`). No store or upstream is
 * needed: the client is made before any request.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "./fixtures/free_port.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `args` (after `deno`) with `env` until it exits (30 s at most). */
async function run(args: string[], env: Record<string, string>) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    env: { ...env, NO_COLOR: "1" },
    cwd: ROOT,
    stdin: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout), err: decoder.decode(stderr) };
}

Deno.test("DENO_CERT naming no file stops the start with one line naming it, exit 2 (deno run, with and without S3_ENDPOINT; deno serve)", async () => {
  await withTempDir(async (dir) => {
    const missing = `${dir}/no-such-ca.pem`;
    const closed = `http://127.0.0.1:${freePort()}`;
    const s3 = [
      ...["--s3-endpoint", `https://127.0.0.1:${freePort()}`],
      ...["--s3-bucket", "files", "--aws-access-key-id", "K"],
      ...["--aws-secret-access-key", "S"],
    ];
    const main = ["run", "-A", "main.ts", "--port", "0", "--data-dir", dir];
    const cases = [
      { name: "deno run", args: [...main, "--upstream-url", closed] },
      {
        name: "deno run with S3_ENDPOINT",
        args: [...main, "--upstream-url", closed, ...s3],
      },
      {
        name: "deno serve",
        args: ["serve", "-A", "--port", "0", "serve.ts"],
        env: { DATA_DIR: dir, UPSTREAM_URL: closed },
      },
    ];
    for (const { name, args, env = {} } of cases) {
      // On main: "error: Uncaught (in promise) Error: Failed opening CA
      // file", the stack, exit 1.
      const { code, out, err } = await run(args, {
        ...env,
        DENO_CERT: missing,
      });
      assert.equal(code, 2, `${name}: ${err}\n${out.slice(-2000)}`);
      assert.equal(err.trim().split("\n").length, 1, `${name}: ${err}`);
      assert.match(
        err,
        /^async-api: cannot read DENO_CERT \(the PEM file of a CA to trust\): Failed opening CA file: No such file/,
      );
      assert.equal(out.includes('"listening"'), false, name);
    }
  });
});
