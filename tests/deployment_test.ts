/**
 * The deployment files: the permission set the `start` and `compile` tasks
 * bake in (outbound network open, env/files/sys narrow) and their V8 heap
 * flags, and compose.yaml + deploy/nginx.conf (three instances sharing Redis
 * and S3 behind nginx), and README's AWS Lambda setup run with the binary's
 * permissions, and the Docker build context `.dockerignore` leaves.
 * Docker is not run here; these tests check what can go wrong silently.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isAbsolute, join, relative } from "node:path";
import { parse } from "yaml";
import { STOP_UPLOADS_MS } from "../main.ts";
import { SETTINGS } from "../services/ops/settings.ts";
import { PROXY_ENV } from "../services/storage/proxy_rules.ts";
import {
  TrustedProxies,
  trustedProxyList,
} from "../services/http/trusted_proxies.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const INSTANCES = ["api1", "api2", "api3"];

/**
 * The words of a deno.json task's command that start with `prefix`. For
 * compile, only those deploy/compile.ts hands to `deno compile` (the
 * script's own `deno run` flags are not baked into the executable).
 */
async function taskFlags(task: string, prefix = "--allow"): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const words: string[] = config.tasks[task].command.split(/\s+/);
  const script = words.indexOf("deploy/compile.ts");
  assert.equal(script >= 0, task === "compile", words.join(" "));
  return words.slice(script + 1).filter((arg) => arg.startsWith(prefix));
}

Deno.test("start and compile: network open, env only the settings and the proxy variables fetch reads, files and sys narrow", async () => {
  // The proxy variables: the S3 parts take the proxy fetch takes, read
  // from them (services/storage/proxy_rules.ts).
  const envs = [...SETTINGS.map((setting) => setting.env), ...PROXY_ENV]
    .sort();
  for (const task of ["start", "compile"]) {
    const flags = await taskFlags(task);
    // Hosts of UPSTREAM_URL, REDIS_URL and S3_ENDPOINT are known only at run time.
    assert.ok(flags.includes("--allow-net"), `${task}: ${flags}`);
    assert.ok(!flags.some((flag) => flag.startsWith("--allow-net=")), task);
    const env = flags.find((flag) => flag.startsWith("--allow-env="));
    assert.ok(env, `${task}: --allow-env must name its variables`);
    assert.deepEqual(env.slice("--allow-env=".length).split(",").sort(), envs);
    assert.ok(flags.includes("--allow-sys=statfs"), task);
    const read = flags.find((flag) => flag.startsWith("--allow-read="));
    const write = flags.find((flag) => flag.startsWith("--allow-write="));
    const dirs = task === "compile" ? "./data,/data" : "./data";
    assert.equal(read, `--allow-read=${dirs}`);
    assert.equal(write, `--allow-write=${dirs}`);
    assert.ok(
      !flags.some((f) => /^--allow-(all|run|ffi|read|write|env|sys)$/.test(f)),
    );
  }
});

Deno.test("start and compile: the same V8 flags, so the binary bounds its heap and inlines as the task does", async () => {
  const start = await taskFlags("start", "--v8-flags");
  assert.equal(start.length, 1, `start: ${start}`);
  assert.match(start[0]!, /--max-semi-space-size=\d+/);
  assert.match(start[0]!, /--heap-growing-percent=\d+/);
  // A memory hit's path inlined whole (README, "The inlining budget").
  assert.match(start[0]!, /--max-inlined-bytecode-size-cumulative=\d+/);
  assert.deepEqual(await taskFlags("compile", "--v8-flags"), start);
  // The README's `deno serve --parallel` line gives users the same flags.
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const serve = /deno serve --parallel[^`]*?serve\.ts/.exec(readme)?.[0];
  assert.ok(serve?.includes(start[0]!), `README: ${serve}`);
  // And HOST's loopback default: deno serve's own is 0.0.0.0.
  assert.match(serve!, /--host 127\.0\.0\.1/);
});

Deno.test("start, compile and dev: the same --unstable flags (REUSE_PORT needs --unstable-net)", async () => {
  const start = await taskFlags("start", "--unstable");
  assert.ok(start.includes("--unstable-net"), `start: ${start}`);
  // dev had none: REUSE_PORT=true was refused there, as by a plain deno run.
  for (const task of ["compile", "dev"]) {
    assert.deepEqual(await taskFlags(task, "--unstable"), start, task);
  }
});

type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
};

Deno.test("compose.yaml: pinned images, three instances on one Redis and one bucket", async () => {
  // Compose resolves `<<:` merge keys (YAML 1.1); yaml 2 needs it asked.
  const text = await Deno.readTextFile(join(ROOT, "compose.yaml"));
  const compose = parse(text, { merge: true });
  const services: Record<string, Service> = compose.services;
  for (const [name, service] of Object.entries(services)) {
    if (service.build !== undefined) continue;
    assert.ok(service.image, `${name} has an image`);
    assert.match(service.image, /:[^:]+$/, `${name} pins a tag`);
    assert.doesNotMatch(service.image, /:latest$/, `${name} is not latest`);
  }
  const shared = [
    "REDIS_URL",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "S3_FORCE_PATH_STYLE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "UPSTREAM_URL",
  ];
  const first = services.api1?.environment ?? {};
  for (const name of INSTANCES) {
    const service = services[name];
    assert.ok(service?.build, `${name} is built from the Dockerfile`);
    assert.ok(service.healthcheck, `${name} has a healthcheck`);
    const env = service.environment ?? {};
    assert.equal(env.HOST, "0.0.0.0");
    assert.equal(env.S3_FORCE_PATH_STYLE, "true");
    for (const key of shared) {
      assert.ok(env[key], `${name} sets ${key}`);
      assert.equal(env[key], first[key], `${name} shares ${key}`);
    }
    assert.equal(service.depends_on?.redis?.condition, "service_healthy");
  }
  const redis = services.redis;
  assert.ok(redis);
  assert.equal(new URL(first.REDIS_URL ?? "").hostname, "redis");
  assert.ok(services[new URL(first.S3_ENDPOINT ?? "").hostname]);
  const nginx = services.nginx;
  for (const name of INSTANCES) {
    assert.equal(nginx?.depends_on?.[name]?.condition, "service_healthy");
  }
});

Deno.test("compose.yaml: the instances count clients by nginx's X-Forwarded-For, not as nginx", async () => {
  const text = await Deno.readTextFile(join(ROOT, "compose.yaml"));
  const services: Record<string, Service> =
    parse(text, { merge: true }).services;
  const forwarded = new Headers({ "x-forwarded-for": "203.0.113.7" });
  for (const name of INSTANCES) {
    const raw = services[name]?.environment?.TRUSTED_PROXIES ?? "";
    const proxies = new TrustedProxies(trustedProxyList(raw));
    // nginx's address on a compose network, from Docker's default pools.
    for (const nginx of ["172.18.0.5", "192.168.32.4", "10.0.1.2"]) {
      const client = proxies.clientOf(nginx, forwarded);
      assert.equal(client, "203.0.113.7", `${name}, nginx at ${nginx}`);
    }
    // A public peer is the client whatever it sends.
    assert.equal(proxies.clientOf("198.51.100.1", forwarded), "198.51.100.1");
  }
});

Deno.test("deploy/nginx.conf: round robin over the three instances, uploads streamed", async () => {
  const conf = await Deno.readTextFile(join(ROOT, "deploy", "nginx.conf"));
  const servers = [...conf.matchAll(/^\s*server\s+([\w.-]+):(\d+);/gm)]
    .map((match) => `${match[1]}:${match[2]}`);
  assert.deepEqual(servers, INSTANCES.map((name) => `${name}:8000`));
  for (
    const directive of [
      "proxy_request_buffering off;",
      "client_max_body_size 0;",
      "proxy_http_version 1.1;",
    ]
  ) {
    assert.ok(conf.includes(directive), directive);
  }
});

Deno.test("Dockerfile and compose.yaml: the drain after SIGTERM ends before docker stop's SIGKILL", async () => {
  // `docker stop` (and compose's) sends SIGKILL 10 s after SIGTERM unless
  // told otherwise: the grace, then up to STOP_UPLOADS_MS for stopped
  // uploads to answer 503 and remove their .part, must end before, with a
  // second to spare for the exit itself. A SIGKILL mid-drain leaves .part
  // files and cuts answers off.
  const dockerStopMs = 10_000;
  const dockerfile = await Deno.readTextFile(join(ROOT, "Dockerfile"));
  const image = Number(/SHUTDOWN_GRACE_MS=(\d+)/.exec(dockerfile)?.[1]);
  const compose = parse(
    await Deno.readTextFile(join(ROOT, "compose.yaml")),
    { merge: true },
  );
  const services: Record<string, Service> = compose.services;
  const graces: [string, number][] = [
    ["Dockerfile", image],
    ...INSTANCES.map((name): [string, number] => [
      `compose.yaml ${name}`,
      Number(services[name]?.environment?.SHUTDOWN_GRACE_MS ?? image),
    ]),
  ];
  for (const [where, graceMs] of graces) {
    assert.ok(Number.isSafeInteger(graceMs) && graceMs > 0, where);
    assert.ok(
      graceMs + STOP_UPLOADS_MS <= dockerStopMs - 1_000,
      `${where}: SHUTDOWN_GRACE_MS ${graceMs} + ${STOP_UPLOADS_MS} ms past ${
        dockerStopMs - 1_000
      } ms`,
    );
  }
  // compose sets no longer stop_grace_period that would allow more.
  for (const name of INSTANCES) {
    assert.equal(services[name]?.stop_grace_period, undefined, name);
  }
});

/**
 * Where README's AWS Lambda setup keeps the uploads: its `WORKDIR` (Lambda's
 * default, `/var/task`, when it names none) and its `DATA_DIR`.
 */
async function lambdaSetup(): Promise<{ workdir: string; dataDir: string }> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = /^### AWS Lambda\n([\s\S]*?)^##? /m.exec(readme)?.[1] ?? "";
  const dataDir = /`DATA_DIR`? ?(?:at |=)`?([^`\s]+)`/.exec(section)?.[1];
  assert.ok(dataDir, `README's AWS Lambda section names no DATA_DIR`);
  const workdir = /`WORKDIR (\S+)`/.exec(section)?.[1] ?? "/var/task";
  return { workdir, dataDir };
}

Deno.test("README's AWS Lambda setup: the compiled binary's permissions take its DATA_DIR, under /tmp", async () => {
  const { workdir, dataDir } = await lambdaSetup();
  // /tmp is the only writable path on Lambda.
  const resolved = isAbsolute(dataDir) ? dataDir : join(workdir, dataDir);
  assert.ok(!relative("/tmp", resolved).startsWith(".."), resolved);
  // Run with the permissions the binary bakes in, a temporary folder
  // standing for /tmp (and for a WORKDIR elsewhere, which Lambda mounts
  // read-only): the service starts and stores an upload there.
  await withTempDir(async (tmp) => {
    await withTempDir(async (elsewhere) => {
      const local = (path: string) =>
        path.startsWith("/tmp") ? tmp + path.slice("/tmp".length) : path;
      const cwd = workdir.startsWith("/tmp") ? local(workdir) : elsewhere;
      await Deno.mkdir(cwd, { recursive: true });
      const folder = isAbsolute(dataDir) ? local(dataDir) : join(cwd, dataDir);
      await using service = await spawnService([], {
        denoArgs: ["--no-prompt", ...await taskFlags("compile")],
        cwd,
        env: {
          // A relative one as it is: the service resolves it against cwd.
          DATA_DIR: isAbsolute(dataDir) ? folder : dataDir,
          UPSTREAM_URL: "http://127.0.0.1:9",
        },
      });
      const upload = await fetch(`${service.url}/files`, {
        method: "POST",
        body: "hello",
      });
      assert.equal(upload.status, 201);
      const { id } = await upload.json();
      assert.equal(
        await Deno.readTextFile(join(folder, "files", id)),
        "hello",
      );
    });
  });
});

/** The standard output of `command` run in the repository, which must succeed. */
async function outputOf(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.equal(
    out.code,
    0,
    `${command} ${args.join(" ")}: ${decode(out.stderr)}`,
  );
  return decode(out.stdout);
}

/**
 * Whether `.dockerignore`'s `patterns` keep `path` out of the build context,
 * as Docker reads them: each matched against the path from the context's
 * root (`*` within one segment), a match of a folder keeping out all in it.
 */
function dockerIgnored(patterns: string[], path: string): boolean {
  const segments = path.split("/");
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join("/"));
  return patterns.some((pattern) => {
    const glob = new RegExp(
      `^${
        pattern.replace(/\/$/, "").replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replaceAll("*", "[^/]*").replaceAll("?", "[^/]")
      }$`,
    );
    return prefixes.some((prefix) => glob.test(prefix));
  });
}

Deno.test("Docker build context: .dockerignore lets in what the image's build reads, and nothing else", async () => {
  // The Dockerfile copies deno.json and deno.lock, installs, then `COPY . .`
  // and `deno task compile` (deploy/compile.ts on main.ts's graph). Another
  // file in the context busts that layer when edited (a recompile for a
  // change to compose.yaml or deploy/nginx.conf), as the file's header says
  // it must not; one missing fails the build.
  const info = JSON.parse(
    await outputOf(Deno.execPath(), ["info", "--json", "main.ts"]),
  ) as { modules: { specifier: string }[] };
  const root = new URL("..", import.meta.url).href;
  const graph = info.modules.flatMap(({ specifier }) =>
    specifier.startsWith(root) ? [specifier.slice(root.length)] : []
  );
  const wanted = [...new Set([...graph, "deno.lock", "deploy/compile.ts"])]
    .sort();
  const patterns = (await Deno.readTextFile(join(ROOT, ".dockerignore")))
    .split("\n").map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const tracked = (await outputOf("git", ["ls-files"])).split("\n")
    .filter((path) => path !== "");
  const context = tracked.filter((path) => !dockerIgnored(patterns, path));
  assert.deepEqual(context.sort(), wanted);
});
