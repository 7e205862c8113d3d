/**
 * `S3_ENDPOINT=https://…` against a real Ceph radosgw serving HTTPS only
 * (beast's `ssl_endpoint`) with a certificate of its own, as self-hosted
 * Ceph and MinIO are often run: the service (a child process, so that
 * `DENO_CERT` is its own) must trust it through `DENO_CERT`, which README's
 * S3 section names. Without `DENO_CERT`, the start
 * stops with one line naming it and the certificate's fault, exit 2: it
 * listened, answered 503 to every upload and logged "fetch failed".
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";
import { selfSigned } from "./fixtures/self_signed.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

cephTest(
  "s3 over https without DENO_CERT: the start stops with one line naming DENO_CERT and the certificate's fault, exit 2",
  async () => {
    await using tls = await selfSigned();
    await using ceph = await sharedCeph({ tls });
    await withTempDir(async (dir) => {
      // On main it listened (then this signal stopped it): never exit 2.
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "--port",
          "0",
          ...s3Args(ceph, ["--data-dir", dir]),
        ],
        stdin: "null",
        signal: AbortSignal.timeout(30_000),
      }).output();
      const decoder = new TextDecoder();
      const out = decoder.decode(stdout);
      const err = decoder.decode(stderr);
      assert.equal(code, 2, `${err}\n${out.slice(-2000)}`);
      assert.equal(err.split("\n").filter(Boolean).length, 1, err);
      assert.match(
        err,
        /^async-api: cannot use bucket .* at S3_ENDPOINT https:/,
      );
      assert.match(err, /\(check DENO_CERT/);
      assert.match(
        err,
        /not trusted: .*invalid peer certificate: UnknownIssuer/,
      );
      assert.doesNotMatch(err + out, new RegExp(ceph.secretAccessKey));
      assert.equal(out.includes('"listening"'), false);
    });
  },
);
