/**
 * The S3 store behind an HTTP proxy (`HTTPS_PROXY`, `HTTP_PROXY`,
 * `NO_PROXY`): the PUTs of bytes (parts, the metadata object), written on
 * connections of their own, take the proxy fetch takes for the other calls
 * (`services/storage/proxy_rules.ts`). The store is named at a port where
 * nothing answers (`directTrap`, counting the connections made to it) and
 * the loopback proxy (`fixtures/http_proxy.ts`) connects that port's
 * requests to the real radosgw: the store is reachable only through the
 * proxy. Before, the parts went straight to the store's address (each
 * failed there, and went again over fetch, through the proxy: every part
 * was a connection to the trap); a proxy refusing tunnels left the parts
 * going direct, stored where nothing was to pass but the proxy.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type Ceph, sharedCeph } from "./fixtures/ceph.ts";
import { errorLines } from "./fixtures/error_lines.ts";
import { directTrap, startHttpProxy } from "./fixtures/http_proxy.ts";
import { bytesOf, cephTest, s3Args, sha256Hex } from "./fixtures/s3_app.ts";
import { selfSigned } from "./fixtures/self_signed.ts";
import { type SpawnedService, spawnService } from "./fixtures/spawn.ts";
import { startTaskFlagsFor } from "./fixtures/start_task_flags.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { until } from "./fixtures/until.ts";

const MiB = 1024 * 1024;

/** POSTs `body` to `/files`; resolves the status and the answer's JSON. */
async function upload(url: string, body: Uint8Array<ArrayBuffer>) {
  const res = await fetch(`${url}/files`, { method: "POST", body });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text, res };
}

/** Uploads 12 MiB (three parts of 5 MiB) and reads them back whole. */
async function roundTrip(url: string): Promise<void> {
  const body = bytesOf(12 * MiB + 5, 7);
  const created = await upload(url, body);
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.sha256, sha256Hex(body));
  const got = await fetch(`${url}/files/${created.json.id}`);
  assert.equal(got.status, 200);
  assert.equal(
    sha256Hex(new Uint8Array(await got.arrayBuffer())),
    sha256Hex(body),
  );
}

/** The service on `ceph`'s bucket at `endpoint`, under the start task's permissions. */
async function service(
  ceph: Ceph,
  dir: string,
  endpoint: string,
  env: Record<string, string>,
): Promise<SpawnedService> {
  return await spawnService(s3Args(ceph, ["--data-dir", dir], endpoint), {
    // Deno's own update check would take the proxy too.
    env: { DENO_NO_UPDATE_CHECK: "1", ...env },
    denoArgs: startTaskFlagsFor(dir),
  });
}

/** The `files.storage_unavailable` lines `app` wrote to stderr so far. */
function unavailableLines(app: SpawnedService): Record<string, unknown>[] {
  return errorLines(app.stderr).filter((record) =>
    record.msg === "files.storage_unavailable"
  );
}

/** `Basic` credentials of `user` and `pass`. */
function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
}

cephTest(
  "s3 over https behind HTTPS_PROXY: every PUT of bytes through a CONNECT tunnel with the proxy's credentials, none to the store's address; NO_PROXY sends them direct",
  async () => {
    await using tls = await selfSigned();
    await using ceph = await sharedCeph({ tls });
    const gateway = Number(new URL(ceph.endpoint).port);
    await using trap = directTrap();
    await using proxy = startHttpProxy({ routes: { [trap.port]: gateway } });
    await withTempDir(async (dir) => {
      {
        await using app = await service(
          ceph,
          dir,
          `https://127.0.0.1:${trap.port}`,
          {
            DENO_CERT: tls.cert,
            // Percent-encoded userinfo, decoded as fetch decodes it.
            HTTPS_PROXY: `http://us%40er:p%3Ass@127.0.0.1:${proxy.port}`,
            // Forms fetch does not take as a match (a port, a wildcard
            // label): neither may the parts.
            NO_PROXY: `127.0.0.1:${trap.port},*.0.0.1`,
          },
        );
        await roundTrip(app.url);
      }
      assert.equal(trap.connections, 0, "nothing went straight to the store");
      const tunnels = proxy.requests.filter((r) =>
        r === `CONNECT 127.0.0.1:${trap.port}`
      );
      // One connection per PUT of bytes: 3 parts and the metadata object,
      // besides fetch's (pooled) tunnels.
      assert.ok(tunnels.length >= 4, JSON.stringify(proxy.requests));
      assert.equal(
        tunnels.length,
        proxy.requests.length,
        JSON.stringify(proxy.requests),
      );
      assert.deepEqual(
        [...new Set(proxy.authorizations)],
        [basic("us@er", "p:ss")],
      );
      const seen = proxy.requests.length;
      {
        await using app = await service(ceph, dir, ceph.endpoint, {
          DENO_CERT: tls.cert,
          HTTPS_PROXY: proxy.url,
          NO_PROXY: "localhost, 127.0.0.0/8",
        });
        await roundTrip(app.url);
      }
      assert.equal(proxy.requests.length, seen, "NO_PROXY: none through it");
    });
  },
);

cephTest(
  "s3 over http behind http_proxy: the parts sent to the proxy in absolute form, none to the store's address; no_proxy sends them direct",
  async () => {
    await using ceph = await sharedCeph();
    const gateway = Number(new URL(ceph.endpoint).port);
    await using trap = directTrap();
    await using proxy = startHttpProxy({ routes: { [trap.port]: gateway } });
    const store = `http://127.0.0.1:${trap.port}`;
    await withTempDir(async (dir) => {
      {
        await using app = await service(ceph, dir, store, {
          http_proxy: `127.0.0.1:${proxy.port}`,
        });
        await roundTrip(app.url);
      }
      assert.equal(trap.connections, 0, "nothing went straight to the store");
      const parts = proxy.requests.filter((r) =>
        r.startsWith(`PUT ${store}/${ceph.bucket}/files/`) &&
        r.includes("partNumber=")
      );
      assert.equal(parts.length, 3, JSON.stringify(proxy.requests));
      assert.deepEqual(new Set(proxy.authorizations), new Set([""]));
      const seen = proxy.requests.length;
      {
        await using app = await service(ceph, dir, ceph.endpoint, {
          http_proxy: proxy.url,
          no_proxy: "127.0.0.1",
        });
        await roundTrip(app.url);
      }
      assert.equal(proxy.requests.length, seen, "no_proxy: none through it");
    });
  },
);

cephTest(
  "s3 behind a proxy that refuses tunnels (407, 403, 502): each upload a 503 with Retry-After, one counted log line naming the proxy, nothing straight to the store",
  async () => {
    await using tls = await selfSigned();
    await using ceph = await sharedCeph({ tls });
    const gateway = Number(new URL(ceph.endpoint).port);
    await using trap = directTrap();
    await using proxy = startHttpProxy({ routes: { [trap.port]: gateway } });
    await withTempDir(async (dir) => {
      await using app = await service(
        ceph,
        dir,
        `https://127.0.0.1:${trap.port}`,
        {
          DENO_CERT: tls.cert,
          HTTPS_PROXY: proxy.url,
        },
      );
      // Through the proxy while it admits tunnels (fetch keeps one open).
      const listed = await fetch(`${app.url}/files`);
      await listed.body?.cancel();
      assert.equal(listed.status, 200);
      for (const status of [407, 403, 502]) {
        proxy.refuse(status);
        const refused = await upload(app.url, bytesOf(12 * MiB, status));
        assert.equal(refused.status, 503, refused.text);
        assert.equal(refused.json.title, "Storage unavailable");
        assert.ok(refused.res.headers.get("retry-after"));
      }
      assert.equal(trap.connections, 0, "nothing went straight to the store");
      // The log is written in batches: the line may follow the answer.
      await until(() => unavailableLines(app).length > 0, "the error line");
      const errors = unavailableLines(app);
      // The first in full; the next two of the same kind only counted.
      assert.equal(errors.length, 1, JSON.stringify(errors).slice(0, 2000));
      const error = JSON.stringify(errors[0]!.error);
      assert.match(error, /StorageProxyError/);
      assert.match(error, /proxy/i);
    });
  },
);

cephTest(
  "s3 over http behind a proxy refusing the requests themselves (407; 403 for a host it does not admit; 400): each a 503 naming the proxy in one counted line, /readyz 503 'proxy-refused' naming the proxy settings",
  async () => {
    await using ceph = await sharedCeph();
    const gateway = Number(new URL(ceph.endpoint).port);
    await using trap = directTrap();
    await using proxy = startHttpProxy({ routes: { [trap.port]: gateway } });
    await withTempDir(async (dir) => {
      await using app = await service(
        ceph,
        dir,
        `http://127.0.0.1:${trap.port}`,
        {
          HTTP_PROXY: proxy.url,
        },
      );
      // A 403 without a code was a refusal of the credentials (503 blaming
      // AWS_ACCESS_KEY_ID), a 400 a 500 and a stack per request.
      for (const status of [407, 403, 400]) {
        proxy.refuse(status);
        const refused = await upload(app.url, bytesOf(1024, status));
        assert.equal(refused.status, 503, refused.text);
        assert.ok(refused.res.headers.get("retry-after"));
        const listed = await fetch(`${app.url}/files`);
        assert.equal(listed.status, 503, await listed.text());
      }
      assert.equal(trap.connections, 0, "nothing went straight to the store");
      // The log is written in batches: the line may follow the answer.
      await until(() => unavailableLines(app).length > 0, "the error line");
      const errors = unavailableLines(app);
      // The first in full; the next ones of the same kind only counted.
      assert.equal(errors.length, 1, JSON.stringify(errors).slice(0, 2000));
      assert.match(JSON.stringify(errors[0]), /StorageProxyError.*407/);
      const ready = await fetch(`${app.url}/readyz`);
      const problem = await ready.json();
      assert.equal(ready.status, 503);
      // The proxy's settings to look at, not the store's address.
      assert.equal(problem.reason, "proxy-refused", JSON.stringify(problem));
      assert.match(problem.detail, /HTTPS_PROXY, HTTP_PROXY, NO_PROXY/);
      await app.waitForLine((r) =>
        r.msg === "files.storage_down" && r.reason === "proxy-refused"
      );
    });
  },
);
