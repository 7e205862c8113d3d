/**
 * `S3_ENDPOINT=https://…` against a real Ceph radosgw serving HTTPS only
 * (beast's `ssl_endpoint`) with a certificate of its own, as self-hosted
 * Ceph and MinIO are often run: the service (a child process, so that
 * `DENO_CERT` is its own) trusts it through `DENO_CERT`, which README's
 * S3 section names, under `-A` and under the `start` task's permissions.
 * Uploads of 1 byte, of three parts and of a form, a ranged download, the
 * listing, a delete and the start's sweep all go over TLS; no handshake is
 * refused by the store (the parts went over node:https, which trusts
 * neither `DENO_CERT` nor, under the start task, any CA: each was refused
 * or thrown, then sent again over fetch). A certificate not trusted
 * (no `DENO_CERT`, a host it does not name, a clock past its dates) stops
 * the start with one line naming what to check and rustls's reason, exit
 * 2: it listened, answered 503 to every upload and logged "fetch failed".
 *
 * @module
 */

import assert from "node:assert/strict";
import { bucketContents, type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { libfaketime } from "./fixtures/libfaketime.ts";
import { bytesOf, cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { selfSigned } from "./fixtures/self_signed.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { startTaskFlagsFor } from "./fixtures/start_task_flags.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const MiB = 1024 * 1024;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** POSTs `body` to `/files`; resolves the created file's JSON. */
async function upload(url: string, body: BodyInit) {
  const res = await fetch(`${url}/files`, { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text);
}

/** Every route of /files over the TLS store, through the service at `url`. */
async function exerciseFiles(url: string, ceph: Ceph): Promise<void> {
  const one = await upload(url, new Uint8Array([7]));
  const got = await fetch(`${url}/files/${one.id}`);
  assert.deepEqual(
    new Uint8Array(await got.arrayBuffer()),
    new Uint8Array([7]),
  );
  // Three parts of 5 MiB (s3Args's): CreateMultipartUpload and completion
  // over fetch, the parts over whatever the bucket sends bytes with.
  const body = bytesOf(12 * MiB + 5);
  const big = await upload(url, body);
  assert.equal(big.sha256, sha256Hex(body));
  const ranged = await fetch(`${url}/files/${big.id}`, {
    headers: { range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` },
  });
  assert.equal(ranged.status, 206);
  assert.deepEqual(
    new Uint8Array(await ranged.arrayBuffer()),
    body.subarray(5 * MiB - 10, 5 * MiB + 10),
  );
  const form = new FormData();
  form.append("file", new Blob(["hello over TLS"]), "hello.txt");
  const formed = await upload(url, form);
  assert.equal(formed.filename, "hello.txt");
  const listed = await (await fetch(`${url}/files`)).json();
  const ids = listed.items.map((item: { id: string }) => item.id);
  for (const id of [one.id, big.id, formed.id]) assert.ok(ids.includes(id));
  const deleted = await fetch(`${url}/files/${big.id}`, { method: "DELETE" });
  await deleted.body?.cancel();
  assert.equal(deleted.status, 204);
  const gone = await fetch(`${url}/files/${big.id}`);
  await gone.body?.cancel();
  assert.equal(gone.status, 404);
  const { keys } = await bucketContents(ceph);
  assert.equal(keys.includes(`files/${big.id}`), false);
}

cephTest(
  "s3 over https, the store's certificate trusted through DENO_CERT: uploads, ranges, listing and deletes work, no handshake refused",
  async () => {
    await using tls = await selfSigned();
    await using ceph = await sharedCeph({ tls });
    assert.match(ceph.endpoint, /^https:/);
    await withTempDir(async (dir) => {
      const permissions = [["-A"], startTaskFlagsFor(dir)];
      for (const denoArgs of permissions) {
        await using service = await spawnService(
          s3Args(ceph, ["--data-dir", dir]),
          { env: { DENO_CERT: tls.cert }, denoArgs },
        );
        await exerciseFiles(service.url, ceph);
        const log = service.lines.join("\n") + service.stderr;
        assert.doesNotMatch(
          log,
          /sweep_failed|storage_unavailable/,
          denoArgs[0],
        );
      }
    });
    // On main: one per PUT of bytes under -A (node:https, "unknown ca").
    const refused = (await ceph.gatewayLog()).match(/ssl handshake failed.*/g);
    assert.deepEqual(refused ?? [], []);
  },
);

/**
 * Runs `main.ts` on `ceph` (its endpoint replaced by `endpoint`) with `env`
 * until it exits, or for 30 s (then it is stopped: it listened).
 */
async function startOn(
  ceph: Ceph,
  endpoint: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  let output: Deno.CommandOutput | undefined;
  await withTempDir(async (dir) => {
    output = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", MAIN, "--port", "0"],
        ...s3Args(ceph, ["--data-dir", dir], endpoint),
      ],
      env,
      stdin: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
  });
  const { code, stdout, stderr } = output!;
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout), err: decoder.decode(stderr) };
}

cephTest(
  "s3 over https, a certificate not trusted: the start stops with one line naming what to check and rustls's reason, exit 2",
  async () => {
    await using tls = await selfSigned();
    await using ceph = await sharedCeph({ tls });
    const cases = [
      {
        name: "no DENO_CERT",
        env: {},
        check: /\(check DENO_CERT: the PEM file of the store's CA\)/,
        reason: /invalid peer certificate: UnknownIssuer/,
      },
      {
        // The certificate holds IP:127.0.0.1 only.
        name: "a host the certificate does not name",
        endpoint: ceph.endpoint.replace("127.0.0.1", "localhost"),
        env: { DENO_CERT: tls.cert },
        check: /\(check S3_ENDPOINT's host against the store's certificate\)/,
        reason: /not valid for name/,
      },
      {
        // A day past the certificate's last (libfaketime, this process only).
        name: "a clock two days ahead",
        env: {
          DENO_CERT: tls.cert,
          LD_PRELOAD: await libfaketime(),
          FAKETIME: "+2d",
        },
        check:
          /\(check the store's certificate dates against this host's clock\)/,
        reason: /certificate expired/,
      },
    ];
    for (
      const { name, endpoint = ceph.endpoint, env, check, reason } of cases
    ) {
      // On main each listened (then the timeout stopped it): never exit 2.
      const { code, out, err } = await startOn(ceph, endpoint, env);
      assert.equal(code, 2, `${name}: ${err}\n${out.slice(-2000)}`);
      assert.equal(err.split("\n").filter(Boolean).length, 1, err);
      assert.match(
        err,
        /^async-api: cannot use bucket .* at S3_ENDPOINT https:/,
      );
      assert.match(err, check, name);
      assert.match(err, /TLS certificate is not trusted: /, name);
      assert.match(err, reason, name);
      assert.doesNotMatch(err + out, new RegExp(ceph.secretAccessKey));
      assert.equal(out.includes('"listening"'), false, name);
    }
  },
);
