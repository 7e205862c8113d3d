/**
 * The service as a process (`main.ts`) pointed at a real Ceph radosgw with
 * a bucket that does not exist, a secret that is wrong, a key the store
 * does not know or whose user is suspended: the start stops with one line
 * naming the setting to fix, exit 2, the secret never printed; so does a host clock the store finds
 * too far off (under libfaketime). Before, such an instance logged a
 * warning, listened, answered `/readyz` 200 (so a load balancer sent it
 * traffic) and 500 to every request of `/files`. A store that does not
 * answer at start is still no reason to refuse it (uploads answer 503
 * until it is back).
 *
 * @module
 */

import assert from "node:assert/strict";
import { sharedCeph } from "./fixtures/ceph.ts";
import { ownUser } from "./fixtures/ceph_user.ts";
import { freePort } from "./fixtures/free_port.ts";
import { libfaketime } from "./fixtures/libfaketime.ts";
import { cephTest, s3Args } from "./fixtures/s3_app.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Options of {@linkcode runMain}. */
interface RunOptions {
  /** Environment added to the inherited one. @default {{}} */
  env?: Record<string, string>;
}

/**
 * Runs `main.ts` with `args` until it exits; stops it (SIGKILL) once its
 * output says `"listening"`, or after `ms`.
 */
async function runMain(args: string[], ms: number, options: RunOptions = {}) {
  const { env = {} } = options;
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--port", "0", "--data-dir", dir, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stop = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited already
    }
  };
  const timer = setTimeout(stop, ms);
  const decoder = new TextDecoder();
  let stdout = "";
  const read = (async () => {
    for await (const chunk of child.stdout) {
      stdout += decoder.decode(chunk, { stream: true });
      if (stdout.includes('"listening"')) stop();
    }
  })();
  try {
    const [stderr, { code }] = await Promise.all([
      new Response(child.stderr).text(),
      child.status,
      read,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
}

cephTest(
  "s3: a missing bucket, a wrong secret or an unknown key stops the start with one line naming the setting, exit 2",
  async () => {
    await using ceph = await sharedCeph();
    const cases = [
      { setting: "S3_BUCKET", ceph: { ...ceph, bucket: `${ceph.bucket}-x` } },
      {
        setting: "AWS_SECRET_ACCESS_KEY",
        ceph: { ...ceph, secretAccessKey: `${ceph.secretAccessKey}x` },
      },
      {
        setting: "AWS_ACCESS_KEY_ID",
        ceph: { ...ceph, accessKeyId: "NOSUCHKEY0000000000X" },
      },
    ];
    for (const { setting, ceph: wrong } of cases) {
      // On main it listened (and was stopped then): never exit 2.
      const { code, stdout, stderr } = await runMain(s3Args(wrong), 60_000);
      assert.equal(code, 2, `${setting}: ${stderr}\n${stdout.slice(-2000)}`);
      assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
      assert.match(stderr, /^async-api: /);
      assert.match(stderr, new RegExp(`check ${setting}\\)`));
      assert.doesNotMatch(stderr + stdout, new RegExp(wrong.secretAccessKey));
      assert.equal(stdout.includes('"listening"'), false, setting);
    }
  },
);

cephTest(
  "s3: S3_ENDPOINT with a path the store does not have stops the start naming S3_ENDPOINT's path, not the bucket that is there; a trailing slash is fine",
  async () => {
    await using ceph = await sharedCeph();
    // radosgw takes the path's first segment, `s3`, for the bucket.
    const args = s3Args(ceph, [], `${ceph.endpoint}/s3/`);
    const { code, stdout, stderr } = await runMain(args, 60_000);
    assert.equal(code, 2, `${stderr}\n${stdout.slice(-2000)}`);
    assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
    // It said "check S3_BUCKET" of the bucket the store has.
    assert.match(stderr, /check S3_ENDPOINT's path \/s3, .*NoSuchBucket/);
    // The store's refusal, quoted after, said "no bucket of the name
    // S3_BUCKET gives" of a bucket that is there.
    assert.match(
      stderr,
      /\): The object store has no bucket where S3_ENDPOINT and S3_BUCKET point: GET \/s3\//,
    );
    const slash = await runMain(s3Args(ceph, [], `${ceph.endpoint}/`), 60_000);
    assert.ok(slash.stdout.includes('"listening"'), slash.stderr);
  },
);

cephTest(
  "s3: S3_FORCE_PATH_STYLE=false to a store that serves buckets only by path stops the start naming S3_FORCE_PATH_STYLE, exit 2",
  async () => {
    await using ceph = await sharedCeph();
    // radosgw (no rgw_dns_name) takes `bucket.127.0.0.1/?uploads` for a
    // listing of all buckets: the start went on, /readyz said 200, and
    // every upload was a 503 (`files` taken for the bucket).
    const args = s3Args(ceph, ["--s3-force-path-style", "false"]);
    const { code, stdout, stderr } = await runMain(args, 60_000);
    assert.equal(code, 2, `${stderr}\n${stdout.slice(-2000)}`);
    assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
    assert.match(stderr, /check S3_FORCE_PATH_STYLE: false needs/);
  },
);

cephTest(
  "s3: the key's user suspended (radosgw's UserSuspended) stops the start with one line naming AWS_ACCESS_KEY_ID, exit 2",
  async () => {
    await using ceph = await sharedCeph();
    const { uid, lent } = await ownUser(ceph, "suspended");
    try {
      await ceph.admin("user", "suspend", `--uid=${uid}`);
      // Before, it listened and answered 503 to every request of /files.
      const { code, stdout, stderr } = await runMain(s3Args(lent), 60_000);
      assert.equal(code, 2, `${stderr}\n${stdout.slice(-2000)}`);
      assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
      assert.match(stderr, /check AWS_ACCESS_KEY_ID\).*UserSuspended/);
      assert.doesNotMatch(stderr + stdout, new RegExp(lent.secretAccessKey));
      assert.equal(stdout.includes('"listening"'), false);
    } finally {
      await ceph.admin("user", "rm", `--uid=${uid}`, "--purge-data");
    }
  },
);

cephTest(
  "s3: a host clock 20 min ahead of the store's (RequestTimeTooSkewed) stops the start with one line saying so, exit 2",
  async () => {
    await using ceph = await sharedCeph();
    // libfaketime moves the clock of the service's process only: its
    // requests are signed 20 min ahead, past the 15 min S3 takes.
    const { code, stdout, stderr } = await runMain(s3Args(ceph), 60_000, {
      env: { LD_PRELOAD: await libfaketime(), FAKETIME: "+20m" },
    });
    assert.equal(code, 2, `${stderr}\n${stdout.slice(-2000)}`);
    assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
    assert.match(stderr, /check this host's clock .*RequestTimeTooSkewed/);
  },
);

cephTest(
  "s3: a store that does not answer at start does not stop the start",
  async () => {
    await using ceph = await sharedCeph();
    const closed = `http://127.0.0.1:${freePort()}`;
    const args = s3Args(ceph, ["--s3-timeout-ms", "2000"], closed);
    // It listens (and is stopped then): the refusal is for settings the
    // store itself rejects, not for a store that is down.
    const { code, stdout, stderr } = await runMain(args, 60_000);
    assert.notEqual(code, 2, stderr);
    assert.equal(stdout.includes('"listening"'), true, stderr);
    assert.match(stdout, /files\.sweep_failed/);
  },
);
