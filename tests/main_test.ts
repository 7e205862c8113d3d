/**
 * The service as a process (`main.ts`): `--help`, a bad setting, port or
 * folder stopping the start with one line and exit 2, the startup line
 * (never the token), `LOG_LEVEL`, SIGTERM with work in flight, and
 * `--healthcheck`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SETTINGS } from "../services/ops/config.ts";
import { PROXY_ENV } from "../services/storage/proxy_rules.ts";
import { upload } from "./fixtures/files_service.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { PORT: "0", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("main.ts --help prints every setting and exits 0", async () => {
  const { code, stdout } = await run(["--help"]);
  assert.equal(code, 0);
  for (const setting of SETTINGS) {
    assert.ok(stdout.includes(setting.env), setting.env);
    assert.ok(stdout.includes(`--${setting.flag}`), setting.flag);
  }
  // The proxy variables fetch (and the S3 parts) read, which have no flag:
  // --help named none of them.
  for (const name of PROXY_ENV) {
    assert.match(stdout, new RegExp(`\n  env (\\w+, )?${name}\\b`), name);
  }
});

Deno.test("a bad setting stops the start with one line naming it, exit 2", async () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["--port", "abc"], {}, "PORT"],
    [[], { UPSTREAM_URL: "nope" }, "UPSTREAM_URL"],
    [[], { CACHE_TTL_SECONDS: "-5" }, "CACHE_TTL_SECONDS"],
    [["--log-level", "chatty"], {}, "LOG_LEVEL"],
    [["--bogus"], {}, "bogus"],
    // A bucket name S3 refuses: was a TypeError's stack trace, exit 1.
    [["--s3-endpoint", "http://127.0.0.1:9", "--s3-bucket", "b"], {
      AWS_ACCESS_KEY_ID: "key",
      AWS_SECRET_ACCESS_KEY: "secret",
    }, "S3_BUCKET"],
  ];
  for (const [args, env, name] of cases) {
    const { code, stdout, stderr } = await run(args, env);
    assert.equal(code, 2, `${name}: ${stderr}`);
    const lines = stderr.split("\n").filter((l) => l.startsWith("async-api:"));
    assert.equal(lines.length, 1, stderr);
    assert.ok(lines[0]!.includes(name), lines[0]);
    assert.equal(stdout.includes('"listening"'), false);
  }
});

Deno.test("a taken port stops the start with exit 2", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stderr } = await run(["--port", String(listener.addr.port)]);
  assert.equal(code, 2);
  assert.match(stderr, /already in use/);
});

Deno.test("an address or DATA_DIR that cannot be used stops the start with one line, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/not-a-folder`;
  await Deno.writeTextFile(file, "");
  const cases: [Record<string, string>, RegExp][] = [
    // A name that does not resolve, an address of no local interface
    // (TEST-NET-1), a port written into the host.
    [{ HOST: "no-such-host.invalid" }, /HOST no-such-host\.invalid/],
    [{ HOST: "192.0.2.1" }, /HOST 192\.0\.2\.1/],
    [{ HOST: "127.0.0.1:9000" }, /HOST 127\.0\.0\.1:9000/],
    // A file where the folder should be, and a folder under that file.
    [{ DATA_DIR: file }, /DATA_DIR/],
    [{ DATA_DIR: `${file}/sub` }, /DATA_DIR/],
    // A value with a line break is quoted, so the message stays one line.
    [{ PORT: "80\n00" }, /PORT must be a whole number, got "80\\n00"/],
  ];
  try {
    for (const [env, message] of cases) {
      const { code, stdout, stderr } = await run([], {
        DATA_DIR: dir,
        ...env,
      });
      const what = JSON.stringify(env);
      assert.equal(code, 2, `${what}: ${stderr}`);
      assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
      assert.match(stderr, /^async-api: /, what);
      assert.match(stderr, message, what);
      assert.equal(stdout.includes('"listening"'), false, what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a DATA_DIR outside the granted --allow-write: one line that says where the permissions come from, exit 2", async () => {
  // Deno's own words, "run again with the --allow-write flag", were all
  // the line said: `deno task start` and the compiled binary take no such
  // flag, and README's Run it says what to do instead.
  const dir = await Deno.makeTempDir();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net",
        "--allow-env",
        `--allow-read=${dir}/data`,
        `--allow-write=${dir}/data`,
        "--allow-sys=statfs",
        MAIN,
      ],
      env: { PORT: "0", DATA_DIR: `${dir}/elsewhere` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
    assert.match(stderr, /^async-api: cannot use DATA_DIR .*elsewhere/);
    assert.match(stderr, /deno task start grants \.\/data only/);
    assert.match(stderr, /README, Run it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("REUSE_PORT=true without --unstable-net stops the start with one line naming it, exit 2; with it, the service listens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The runtime's own refusal was its line and exit 70, from inside
    // Deno.listen, the settings unnamed.
    for (
      const [args, env] of [
        [[], { REUSE_PORT: "true" }],
        [["--reuse-port", "true"], {}],
      ] as const
    ) {
      const { code, stdout, stderr } = await run([...args], {
        DATA_DIR: `${dir}/data`,
        UPSTREAM_URL: "http://127.0.0.1:9",
        ...env,
      });
      assert.equal(code, 2, stderr);
      assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
      assert.match(stderr, /^async-api: REUSE_PORT=true \(--reuse-port\) /);
      assert.match(stderr, /--unstable-net/);
      assert.equal(stdout.includes('"listening"'), false);
    }
    // Refused before the app was built: no DATA_DIR made.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
    await using service = await spawnService([], {
      env: {
        DATA_DIR: `${dir}/data`,
        UPSTREAM_URL: "http://127.0.0.1:9",
        REUSE_PORT: "true",
      },
      // The start task's flag.
      denoArgs: ["-A", "--unstable-net"],
    });
    const res = await fetch(`${service.url}/healthz`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the startup line names the address and settings, never the token", async () => {
  await using upstream = startFixtureUpstream();
  const dataDir = await Deno.makeTempDir();
  const token = "a-secret-token-1234567890";
  try {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, UPLOAD_TOKEN: token },
    });
    const listening = await service.waitForLine((r) => r.msg === "listening");
    assert.match(String(listening.url), /^http:\/\/127\.0\.0\.1:\d+$/);
    const settings = listening.settings as Record<string, unknown>;
    assert.equal(settings.upstreamUrl, upstream.url);
    assert.equal(settings.uploadToken, "set");
    assert.ok(!service.lines.join("\n").includes(token));
    const res = await fetch(`${service.url}/posts/1`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(res.status, 200);
    // The app compresses JSON for clients that accept it.
    assert.equal(res.headers.get("content-encoding"), "gzip");
    assert.equal((await res.json()).id, 1);
    const line = await service.waitForLine((r) => r.msg === "request");
    assert.equal(line.path, "/posts/1");
    assert.equal(line.status, 200);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("LOG_LEVEL=warn still logs the listening line (the chosen port) and the shutdown", async () => {
  await using upstream = startFixtureUpstream();
  const dataDir = await Deno.makeTempDir();
  try {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url, LOG_LEVEL: "warn" },
    });
    assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${service.url}/posts/1`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    service.kill("SIGTERM");
    assert.equal((await service.status).code, 0);
    const msgs = service.lines.map((line) => JSON.parse(line).msg);
    assert.deepEqual(msgs, ["listening", "shutdown.begin", "shutdown.end"]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SIGTERM during a slow request: it completes, then exit 0", async () => {
  await using upstream = startFixtureUpstream();
  upstream.setFault("/posts/1", { delayMs: 1500 });
  const dataDir = await Deno.makeTempDir();
  try {
    await using service = await spawnService([
      "--data-dir",
      dataDir,
      "--shutdown-grace-ms",
      "10000",
    ], { env: { UPSTREAM_URL: upstream.url } });
    const slow = fetch(`${service.url}/posts/1`);
    await upstream.waitForRequests(1, "/posts/1");
    service.kill("SIGTERM");
    await service.waitForLine((r) => r.msg === "shutdown.begin");
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal((await res.json()).id, 1);
    const status = await service.status;
    assert.equal(status.code, 0);
    const end = await service.waitForLine((r) => r.msg === "shutdown.end");
    assert.equal(end.outcome, "drained");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SIGTERM during a download nobody reads: the shutdown lines count its connection, then exit 0 at the grace", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await using service = await spawnService([
      "--data-dir",
      dataDir,
      "--shutdown-grace-ms",
      "1000",
    ]);
    const { json: { id } } = await upload(
      service.url,
      new Uint8Array(32 << 20),
      { headers: { "content-type": "application/octet-stream" } },
    );
    // Its head is answered, then nothing more is read: past the socket
    // buffers, the answer stays in flight.
    using reader = await Deno.connect({
      port: Number(new URL(service.url).port),
    });
    await reader.write(
      new TextEncoder().encode(`GET /files/${id} HTTP/1.1\r\nhost: x\r\n\r\n`),
    );
    await reader.read(new Uint8Array(1024));
    service.kill("SIGTERM");
    const begin = await service.waitForLine((r) => r.msg === "shutdown.begin");
    const expired = await service.waitForLine((r) =>
      r.msg === "shutdown.grace_expired"
    );
    assert.equal((await service.status).code, 0);
    // Before: both said only "inflight":0, the download uncounted.
    assert.equal(begin.inflight, 0);
    // With the upload's, kept alive by this process's fetch.
    assert.ok(Number(begin.connections) >= 1, `${begin.connections}`);
    // Idle ones are closed at once: the download held the exit.
    assert.equal(expired.connections, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("--healthcheck exits 0 against a healthy instance, 1 without one", async () => {
  await using upstream = startFixtureUpstream();
  const dataDir = await Deno.makeTempDir();
  try {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
    });
    const port = new URL(service.url).port;
    const healthy = await run(["--healthcheck", "--port", port]);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.equal(healthy.stdout.includes('"listening"'), false);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(listener.addr.port);
  listener.close();
  const down = await run(["--healthcheck", "--port", port]);
  assert.equal(down.code, 1);
  // Docker keeps a health check's output (`docker inspect`): it was
  // empty, so an unhealthy container did not say why.
  assert.match(
    down.stderr,
    new RegExp(`http://127\\.0\\.0\\.1:${port}/healthz.*Connection refused`),
  );
});
