/**
 * Tests of the benchmark's peers and helpers that decide what is compared:
 * the feature-equivalent handler sends the service's answer with fresh
 * per-request values, the service runs with the start task's flags, and a
 * server's CPU time counts its child processes (nginx's workers). Nothing
 * here measures speed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  encodedBodies,
  equivalentHandler,
  type EquivalentSpec,
} from "../bench/equivalent_server.ts";
import { EXPOSED_HEADERS } from "../services/http/cors.ts";
import { createLogger, type Logger } from "../services/ops/logger.ts";
import { specFromService } from "../bench/cached_peers.ts";
import {
  checkWrk,
  cpuSecondsOf,
  median,
  serviceCommand,
  startTaskFlags,
} from "../bench/lib.ts";

const spec: EquivalentSpec = {
  path: "/posts/1",
  status: 200,
  body: '{"id":1}',
  headers: [
    ["age", "0"],
    ["content-type", "application/json; charset=utf-8"],
    ["etag", '"abc"'],
    ["server-timing", 'cache;desc="hit";dur=0.22'],
    ["x-request-id", "00000000-0000-0000-0000-000000000000"],
  ],
  log: {
    time: "x",
    level: "info",
    msg: "request",
    path: "/posts/1",
    status: 200,
    durationMs: 1,
    requestId: "x",
    cache: "hit",
  },
};

/** A logger keeping the lines the handler logs, in memory. */
function keptLines(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    write: (line) => lines.push(JSON.parse(line)),
  });
  return { logger, lines };
}

Deno.test("equivalentHandler() sends the spec's answer with a fresh request id, 304 on a matching If-None-Match, 412 on another If-Match", async () => {
  const { logger, lines } = keptLines();
  const handler = equivalentHandler(spec, await encodedBodies(spec), {
    logger,
  });
  const a = handler(new Request("http://127.0.0.1:1/posts/1"));
  const b = handler(new Request("http://127.0.0.1:1/posts/1"));
  assert.equal(a.status, 200);
  assert.equal(await a.text(), '{"id":1}');
  await b.body?.cancel();
  assert.deepEqual(
    [...a.headers].map(([name]) => name),
    spec.headers.map(([name]) => name),
  );
  assert.equal(a.headers.get("etag"), '"abc"');
  assert.match(a.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  assert.notEqual(a.headers.get("x-request-id"), b.headers.get("x-request-id"));
  assert.notEqual(a.headers.get("x-request-id"), spec.headers[4]![1]);
  assert.match(
    a.headers.get("server-timing")!,
    /^cache;desc="hit";dur=[\d.]+$/,
  );
  const cached = handler(
    new Request("http://127.0.0.1:1/posts/1", {
      headers: { "if-none-match": '"abc"' },
    }),
  );
  assert.equal(cached.status, 304);
  assert.equal(cached.body, null);
  const refused = handler(
    new Request("http://127.0.0.1:1/posts/1", {
      headers: { "if-match": '"old"' },
    }),
  );
  assert.equal(refused.status, 412);
  assert.equal(refused.headers.get("etag"), '"abc"');
  const other = handler(new Request("http://127.0.0.1:1/posts/2"));
  assert.equal(other.status, 404);
  // One line per answer it sends as the service would (the 412 and 404
  // are short cuts the bench never takes, not logged).
  assert.deepEqual(lines.map((line) => line.status), [200, 200, 304]);
  assert.equal(lines[0]!.requestId, a.headers.get("x-request-id"));
  assert.equal(lines[0]!.cache, "hit");
  assert.equal(lines[0]!.msg, "request");
});

Deno.test("equivalentHandler() takes the service's decisions from Host, X-Request-Id, Origin and Accept-Encoding", async () => {
  const { logger, lines } = keptLines();
  const handler = equivalentHandler(spec, await encodedBodies(spec), {
    logger,
  });
  const get = (headers: Record<string, string>) =>
    handler(new Request("http://127.0.0.1:1/posts/1", { headers }));

  const echoed = get({ "x-request-id": "abc-123" });
  assert.equal(echoed.headers.get("x-request-id"), "abc-123");
  await echoed.body?.cancel();
  const malformed = get({ "x-request-id": "a b" });
  assert.match(malformed.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  await malformed.body?.cancel();

  const plain = get({});
  assert.equal(plain.headers.get("access-control-allow-origin"), null);
  await plain.body?.cancel();
  const cors = get({ origin: "http://page.test" });
  assert.equal(cors.headers.get("access-control-allow-origin"), "*");
  assert.equal(
    cors.headers.get("access-control-expose-headers"),
    EXPOSED_HEADERS,
  );
  assert.equal(cors.headers.get("timing-allow-origin"), "*");
  await cors.body?.cancel();

  const gzip = get({ "accept-encoding": "gzip" });
  assert.equal(gzip.headers.get("content-encoding"), "gzip");
  assert.equal(gzip.headers.get("etag"), 'W/"abc"');
  const inflated = gunzipSync(new Uint8Array(await gzip.arrayBuffer()));
  assert.equal(new TextDecoder().decode(inflated), '{"id":1}');
  const br = get({ "accept-encoding": "gzip, br" });
  assert.equal(br.headers.get("content-encoding"), "br");
  await br.body?.cancel();
  const notModified = get({
    "accept-encoding": "gzip",
    "if-none-match": '"abc"',
  });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.get("etag"), 'W/"abc"');
  assert.equal(notModified.headers.get("content-encoding"), null);

  const badHost = get({ host: "a/b" });
  assert.equal(badHost.status, 400);
  assert.equal(lines[0]!.requestId, "abc-123");
  assert.equal(lines.at(-1)!.status, 304);
});

Deno.test("equivalentHandler() counts the TTL left in Cache-Status down as Age goes up, as the service does", async () => {
  // Taken when the entry was 5 s old with 3595 s left: a 3600 s lifetime.
  const aged: EquivalentSpec = {
    ...spec,
    headers: [
      ["age", "5"],
      ["cache-status", "async-api; hit; ttl=3595"],
      ...spec.headers.slice(1),
    ],
  };
  const { logger, lines } = keptLines();
  const handler = equivalentHandler(aged, await encodedBodies(aged), {
    logger,
  });
  const res = handler(new Request("http://127.0.0.1:1/posts/1"));
  await res.body?.cancel();
  const age = Number(res.headers.get("age"));
  assert.ok(age === 0 || age === 1, `age ${age}`);
  assert.equal(
    res.headers.get("cache-status"),
    `async-api; hit; ttl=${3600 - age}`,
  );
  assert.equal(lines.length, 1);
});

Deno.test("equivalentHandler() logs the peer's address as client, as the service does", async () => {
  const { logger, lines } = keptLines();
  const handler = equivalentHandler(spec, await encodedBodies(spec), {
    logger,
  });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    handler,
  );
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/posts/1`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.client, "127.0.0.1");
});

Deno.test("specFromService() keeps the service's header order as sent on the wire", async () => {
  const requestId = "11111111-2222-3333-4444-555555555555";
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/service.log`;
  await Deno.writeTextFile(
    logFile,
    JSON.stringify({ msg: "request", status: 200, requestId }) + "\n",
  );
  // Not in the alphabetical order a `Headers` iteration gives.
  const head = {
    "x-request-id": requestId,
    "vary": "Accept-Encoding, Origin",
    "content-type": "application/json; charset=utf-8",
    "age": "3",
  };
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response('{"id":1}', { headers: head }),
  );
  try {
    const got = await specFromService(
      `http://127.0.0.1:${server.addr.port}`,
      logFile,
    );
    assert.deepEqual(got.headers, Object.entries(head));
    assert.equal(got.body, '{"id":1}');
    assert.equal(got.log.requestId, requestId);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startTaskFlags() gives the start task's permissions and V8 flags, and serviceCommand() its V8 flags", () => {
  const flags = startTaskFlags();
  assert.ok(flags.includes("--allow-net"));
  assert.ok(flags.some((f) => f.startsWith("--allow-env=PORT,")));
  assert.ok(flags.every((f) => f.startsWith("--")));
  assert.ok(!flags.includes("-A"));
  assert.ok(!flags.includes("main.ts"));
  const v8 = flags.filter((f) => f.startsWith("--v8-flags="));
  assert.equal(v8.length, 1);
  const command = serviceCommand(["--log-level", "warn"]);
  assert.ok(command.indexOf(v8[0]!) > command.indexOf("-A"));
  assert.ok(
    command.indexOf(v8[0]!) < command.findIndex((a) => a.endsWith("main.ts")),
  );
});

Deno.test("median() of odd and even counts", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("checkWrk() tolerates up to 1 % socket errors, no wrong answer", () => {
  const run = (non2xx: number, errors: number) => ({
    requestsPerSecond: 1000,
    requests: 1000,
    latencyP50Ms: 1,
    latencyP99Ms: 2,
    non2xx,
    errors,
  });
  checkWrk(run(0, 10), "peer");
  assert.throws(() => checkWrk(run(0, 11), "peer"), /failures from peer/);
  assert.throws(() => checkWrk(run(1, 0), "peer"), /failures from peer/);
});

Deno.test("cpuSecondsOf() counts the CPU time of child processes (nginx's workers)", async () => {
  const dir = await Deno.makeTempDir();
  const done = `${dir}/done`;
  // A shell that only waits, and its child that spins, then idles.
  const spin =
    `i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done; : > ${done}; exec sleep 30`;
  const parent = new Deno.Command("sh", {
    args: ["-c", `sh -c '${spin}' & wait`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    while (!(await Deno.stat(done).then(() => true, () => false))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stat = await Deno.readTextFile(`/proc/${parent.pid}/stat`);
    const own = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // The waiting shell used next to nothing itself; its child spun.
    assert.ok(Number(own[11]) + Number(own[12]) <= 1);
    const total = await cpuSecondsOf(parent.pid);
    assert.ok(total >= 0.05, `${total} s`);
    assert.ok(await cpuSecondsOf(parent.pid) >= total);
  } finally {
    // Killing the parent shell leaves its child: kill both by their ids.
    const children = await Deno.readTextFile(
      `/proc/${parent.pid}/task/${parent.pid}/children`,
    ).catch(() => "");
    for (const pid of children.split(/\s+/).filter(Boolean)) {
      Deno.kill(Number(pid), "SIGKILL");
    }
    parent.kill("SIGKILL");
    await parent.status;
    await Deno.remove(dir, { recursive: true });
  }
});
