/**
 * Each access line names its client: the peer's address, or, when the
 * peer is a trusted proxy (`TRUSTED_PROXIES`), the client address it
 * forwards (`X-Forwarded-For`), as the per-client limits count it, but
 * whole (an IPv6 client is not cut to its /64 here). The line had no
 * address at all: an operator could not tell who sent a flood or a
 * refused upload. Real requests over loopback.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type LogRecord, serveTempApp } from "./fixtures/served_app.ts";
import { until } from "./fixtures/until.ts";
import { type LoggedRequest, record } from "../routes/access_log.ts";
import { createLogger, type LogLevel } from "../services/ops/logger.ts";
import { Metrics } from "../services/ops/metrics.ts";

const TOKEN = "access-log-token-0123456789";

/** The access line of the request with id `requestId`. */
function lineOf(records: readonly LogRecord[], requestId: string): LogRecord {
  const line = records.find((r) =>
    r.msg === "request" && r.requestId === requestId
  );
  assert.ok(line, `no access line for ${requestId}`);
  return line;
}

async function get(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  await res.body?.cancel();
  return res.status;
}

Deno.test("the access line names the peer; a forwarded address from an untrusted peer is not believed", async () => {
  await using served = await serveTempApp(["--upload-token", TOKEN]);
  assert.equal(
    await get(`${served.url}/healthz`, { "x-request-id": "plain-1" }),
    200,
  );
  assert.equal(
    await get(`${served.url}/healthz`, {
      "x-request-id": "spoofed-1",
      "x-forwarded-for": "198.51.100.7",
    }),
    200,
  );
  // A refused upload: who sent it is what the operator looks for.
  const refused = await fetch(`${served.url}/files`, {
    method: "POST",
    headers: { "x-request-id": "refused-1" },
    body: new Uint8Array(1024),
  });
  await refused.body?.cancel();
  assert.equal(refused.status, 401);
  for (const id of ["plain-1", "spoofed-1", "refused-1"]) {
    assert.equal(lineOf(served.records, id).client, "127.0.0.1", id);
  }
});

Deno.test("behind a trusted proxy the access line names the client it forwards", async () => {
  await using served = await serveTempApp(["--trusted-proxies", "loopback"]);
  const cases: [string, string, string][] = [
    ["v4", "198.51.100.7", "198.51.100.7"],
    // What a client made up stands left of the hop the proxy added.
    ["made-up", "203.0.113.9, 198.51.100.8", "198.51.100.8"],
    // The whole address, not the /64 the per-client limits count by.
    ["v6", "2001:db8:1:2::a", "2001:db8:1:2::a"],
  ];
  for (const [id, forwarded] of cases) {
    assert.equal(
      await get(`${served.url}/healthz`, {
        "x-request-id": id,
        "x-forwarded-for": forwarded,
      }),
      200,
    );
  }
  assert.equal(
    await get(`${served.url}/healthz`, { "x-request-id": "direct" }),
    200,
  );
  // A download's line is written when its body ends, after the runtime
  // has closed the request: the client was read at the head.
  const stored = await fetch(`${served.url}/files`, {
    method: "POST",
    headers: { "x-forwarded-for": "198.51.100.9" },
    body: new Uint8Array(64 * 1024),
  });
  const { id: fileId } = await stored.json();
  assert.equal(stored.status, 201);
  assert.equal(
    await get(`${served.url}/files/${fileId}`, {
      "x-request-id": "download",
      "x-forwarded-for": "198.51.100.10",
    }),
    200,
  );
  await until(
    () =>
      served.records.some((r) =>
        r.msg === "request" && r.requestId === "download"
      ),
    "the download's access line",
  );
  assert.equal(lineOf(served.records, "download").client, "198.51.100.10");
  for (const [id, , client] of cases) {
    assert.equal(lineOf(served.records, id).client, client, id);
  }
  assert.equal(lineOf(served.records, "direct").client, "127.0.0.1");
});

/** `record`'s lines at `level`, and how often it asked for the client. */
function recorded(level: LogLevel): { lines: LogRecord[]; asked: number } {
  const lines: LogRecord[] = [];
  let asked = 0;
  const ctx: LoggedRequest = {
    method: "GET",
    started: performance.now(),
    pathname: "/healthz",
    route: "/healthz",
    requestId: "level-1",
    // What the request context works out (a forwarded header parsed).
    get client() {
      asked++;
      return "198.51.100.11";
    },
    log: {},
  };
  const logger = createLogger({
    level,
    write: (line) => lines.push(JSON.parse(line)),
  });
  using metrics = new Metrics();
  record(ctx, { status: 200, bytes: 2 }, undefined, { logger, metrics });
  return { lines, asked };
}

Deno.test("at LOG_LEVEL=warn no access line is written and its client is not worked out; at info the line names it", () => {
  const warn = recorded("warn");
  assert.deepEqual(warn.lines, []);
  assert.equal(warn.asked, 0, "the client was worked out for no line");
  const info = recorded("info");
  assert.equal(info.lines.length, 1);
  assert.equal(info.lines[0]!.msg, "request");
  assert.equal(info.lines[0]!.client, "198.51.100.11");
  assert.equal(info.asked, 1);
});
