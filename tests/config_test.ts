/**
 * The settings: defaults, precedence (flag, env, default), validation with
 * the setting named, `--help`, the hidden secrets, and README's Settings
 * table naming every setting with its flag and default as the code has
 * them.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ConfigError,
  describeConfig,
  helpText,
  loadConfig,
  SETTINGS,
} from "../services/ops/config.ts";
import { PROXY_ENV } from "../services/storage/proxy_rules.ts";

function load(args: string[] = [], env: Record<string, string> = {}) {
  const result = loadConfig({ args, env: (name) => env[name] });
  assert.equal(result.help, false);
  return (result as { config: import("../services/ops/config.ts").Config })
    .config;
}

Deno.test("loadConfig() uses the documented defaults", () => {
  const config = load();
  assert.equal(config.port, 8000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(
    config.upstreamUrl.href,
    "https://jsonplaceholder.typicode.com/",
  );
  assert.equal(config.upstreamTimeoutMs, 5000);
  assert.equal(config.cacheTtlSeconds, 60);
  assert.equal(config.cacheMaxBytes, 67108864);
  assert.equal(config.dataDir, "./data");
  assert.equal(config.maxUploadBytes, 1073741824);
  assert.equal(config.uploadQueueBytes, 8388608);
  // Unset: the app picks 2 MiB on local disk and 1 MiB with S3_ENDPOINT.
  assert.equal(config.uploadWriteBytes, undefined);
  assert.equal(load(["--upload-write-bytes", "65536"]).uploadWriteBytes, 65536);
  assert.equal(config.uploadToken, undefined);
  assert.equal(config.shutdownGraceMs, 10000);
  assert.equal(config.logLevel, "info");
});

Deno.test("loadConfig() prefers flags over env over defaults", () => {
  const config = load(["--port", "9001"], { PORT: "9000", HOST: "0.0.0.0" });
  assert.equal(config.port, 9001);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(load([], { PORT: "9000" }).port, 9000);
  assert.equal(load(["--port=0"]).port, 0);
});

Deno.test("loadConfig() rejects bad values naming the setting", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [[], { PORT: "eighty" }, "PORT"],
    [[], { PORT: "70000" }, "PORT"],
    [["--upstream-url", "ftp://x"], {}, "UPSTREAM_URL"],
    [[], { UPSTREAM_URL: "not a url" }, "UPSTREAM_URL"],
    [[], { UPSTREAM_TIMEOUT_MS: "0" }, "UPSTREAM_TIMEOUT_MS"],
    [[], { CACHE_TTL_SECONDS: "-1" }, "CACHE_TTL_SECONDS"],
    [[], { LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [[], { UPLOAD_TOKEN: "short" }, "UPLOAD_TOKEN"],
    [[], { MAX_UPLOAD_BYTES: "1.5" }, "MAX_UPLOAD_BYTES"],
    // Names S3 refuses (too short, upper case): the start stopped with a
    // TypeError's stack trace and exit 1 when the storage opened.
    [[], { S3_BUCKET: "b" }, "S3_BUCKET"],
    [["--s3-bucket", "My_Uploads"], {}, "S3_BUCKET"],
    [["--no-such-flag", "1"], {}, "args"],
  ];
  for (const [args, env, setting] of cases) {
    assert.throws(
      () => loadConfig({ args, env: (name) => env[name] }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.setting, setting);
        if (setting !== "args") {
          assert.match(error.message, new RegExp(setting));
        }
        assert.ok(!error.message.includes("\n"), "one line");
        return true;
      },
    );
  }
});

Deno.test("--help lists every setting and describeConfig() hides the token", () => {
  assert.deepEqual(loadConfig({ args: ["--help"] }), { help: true });
  const text = helpText();
  for (const setting of SETTINGS) {
    assert.ok(text.includes(`--${setting.flag}`), setting.flag);
    assert.ok(text.includes(setting.env), setting.env);
  }
  // An empty default is said in words, not as nothing at the line's end.
  assert.match(text, /env TRUSTED_PROXIES {3}default \(empty\)\n/);
  const token = "s3cret-token-of-some-length";
  const described = describeConfig(load([], { UPLOAD_TOKEN: token }));
  assert.equal(described.uploadToken, "set");
  assert.ok(!JSON.stringify(described).includes(token));
  // Every setting is in the log line, one without a value as unset (JSON
  // dropped the undefined ones: REDIS_URL, S3_ENDPOINT, ...).
  const logged = JSON.parse(JSON.stringify(described));
  assert.deepEqual(Object.keys(logged), SETTINGS.map((s) => s.key));
  assert.equal(logged.redisUrl, "unset");
  assert.equal(logged.uploadWriteBytes, "unset");
});

Deno.test("README's Settings table has every setting, its flag and default as the code does", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const section = readme.split("\n## Settings\n")[1]!.split("\n## ")[0]!;
  const all = section.split("\n").filter((line) => line.startsWith("| `"))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
  // The proxy variables fetch reads (and the S3 parts with it) have no flag.
  const rows = all.filter(([, flag]) => flag !== "none");
  const proxyRows = all.filter(([, flag]) => flag === "none")
    .map(([env]) => env!.match(/[A-Za-z_]+/g) ?? []);
  assert.deepEqual(proxyRows.flat().sort(), [...PROXY_ENV].sort());
  // --help lists them as README's rows group them (it listed none).
  const help = helpText();
  for (const names of proxyRows) {
    assert.ok(
      help.includes(`\n  env ${names.join(", ")}   default (unset)\n`),
      names.join(", "),
    );
  }
  assert.deepEqual(
    rows.map(([env, flag, fallback]) => [env, flag, fallback!.split(": ")[0]]),
    SETTINGS.map((s) => [
      `\`${s.env}\``,
      `\`--${s.flag}\``,
      s.default === undefined
        ? "unset"
        // An empty default in backticks renders as two backticks.
        : s.default === ""
        ? "empty"
        : `\`${s.default}\``,
    ]),
  );
});

Deno.test("--help gives the memory bound README's Settings table gives", async () => {
  // --help said UPLOAD_QUEUE_BYTES + (this + 1) x S3_PART_BYTES for
  // S3_PARTS_IN_FLIGHT after the code and README had dropped the + 1.
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const section = readme.split("\n## Settings\n")[1]!.split("\n## ")[0]!;
  const bounds = section.split("\n").flatMap((line) => {
    const [env, , , meaning] = line.split("|").slice(1, -1).map((cell) =>
      cell.trim().replaceAll("`", "")
    );
    const bound = /holds about (.+?) \(/.exec(meaning ?? "")?.[1];
    return bound === undefined ? [] : [[env!, bound] as const];
  });
  assert.ok(bounds.length > 0, "README gives a memory bound");
  for (const [env, bound] of bounds) {
    const help = SETTINGS.find((s) => s.env === env)?.help ?? "";
    assert.ok(help.includes(`holds about ${bound} (`), `${env}: ${help}`);
  }
});

Deno.test("README's Settings table names every route --help names for a setting", async () => {
  // UPLOAD_TOKEN's --help named POST /file, README's row did not: a reader
  // of README took that route to be open.
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const section = readme.split("\n## Settings\n")[1]!.split("\n## ")[0]!;
  const meanings = new Map(
    section.split("\n").filter((line) => line.startsWith("| `")).map(
      (line) => {
        const cells = line.split("|").slice(1, -1).map((c) => c.trim());
        return [cells[0]!.replaceAll("`", ""), cells[3]!] as const;
      },
    ),
  );
  for (const s of SETTINGS) {
    const meaning = meanings.get(s.env) ?? "";
    for (const [path] of s.help.matchAll(/\/[a-z]+/g)) {
      assert.match(
        meaning,
        new RegExp(`${path}(?![a-z])`),
        `${s.env}: ${path}`,
      );
    }
  }
});

Deno.test("a malformed URL setting's message never shows its password", () => {
  const cases: Record<string, string> = {
    REDIS_URL: "redis//user:s3cret-pw@cache:6379",
    UPSTREAM_URL: "http://user:s3cret-pw@upstream:99999",
    S3_ENDPOINT: "http://key:s3cret-pw@[::1",
  };
  for (const [name, raw] of Object.entries(cases)) {
    assert.throws(
      () => loadConfig({ env: (n) => n === name ? raw : undefined }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.setting, name);
        assert.doesNotMatch(error.message, /s3cret-pw/, error.message);
        // The rest is still shown, so the typo can be found.
        assert.match(error.message, /\*\*\*@/, error.message);
        return true;
      },
    );
  }
});

Deno.test("README's Limits table has a row for every MAX_ setting, and gives each setting's default as the code does", async () => {
  // MAX_UPLOAD_WATCHERS and MAX_UPLOAD_WATCHERS_PER_CLIENT had no row: an
  // operator reading the Limits section for what bounds a client did not
  // learn that 9 event streams from one address get 429.
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const section = readme.split("\n## Limits and protections\n")[1]!
    .split("\n## ")[0]!;
  const rows = section.split("\n").filter((line) => line.startsWith("| `"))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
  const byEnv = new Map(SETTINGS.map((s) => [s.env, s]));
  const named = (cell: string) =>
    [...cell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!)
      .filter((env) => byEnv.has(env));
  const covered = new Set(rows.flatMap(([limit]) => named(limit!)));
  for (const s of SETTINGS.filter((s) => s.env.startsWith("MAX_"))) {
    assert.ok(covered.has(s.env), `${s.env} has no row in Limits`);
  }
  const units: Record<string, number> = {
    GiB: 2 ** 30,
    MiB: 2 ** 20,
    KiB: 2 ** 10,
    "B/s": 1,
    "%": 1,
    ms: 1,
    "": 1,
  };
  for (const [limit, , fallback] of rows) {
    const envs = named(limit!);
    // A product of two settings (`A` × `B`) is worked out, not a default.
    if (envs.length === 0 || limit!.includes("×")) continue;
    const values = [
      ...fallback!.replace(/\(.*\)/, "").matchAll(
        /(\d+(?:\.\d+)?)\s*(GiB|MiB|KiB|B\/s|%|ms|s)?/g,
      ),
    ];
    assert.equal(values.length, envs.length, `${limit}: ${fallback}`);
    envs.forEach((env, i) => {
      const [, number, unit = ""] = values[i]!;
      const scale = unit === "s"
        ? (env.endsWith("_MS") ? 1000 : 1)
        : units[unit]!;
      assert.equal(
        String(Number(number) * scale),
        byEnv.get(env)!.default,
        `${env}: ${fallback}`,
      );
    });
  }
});
