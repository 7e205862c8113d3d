/**
 * The connection layer's own answers, made without the pipeline: the 500
 * when a handler throws past it, and the 503 over MAX_CONNECTIONS (in
 * connection_limits_test). They carry the CORS headers every other answer
 * has (services/http/cors.ts), so a page reads them rather than getting a
 * CORS error; the request's `Origin` is not known there, so they are sent
 * as for a request with one. The pipeline answers its own failures
 * (bad_host_test has the last input that threw past it).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createLogger } from "../services/ops/logger.ts";
import { serveGuarded } from "../services/server/http_server.ts";
import { EXPOSED_HEADERS } from "../services/http/cors.ts";

Deno.test("a handler that throws past the pipeline gets a 500 problem with the CORS headers", async () => {
  const lines: string[] = [];
  await using server = serveGuarded({
    hostname: "127.0.0.1",
    port: 0,
    logger: createLogger({ write: (line) => void lines.push(line) }),
    handler: () => {
      throw new Error("a handler's bug");
    },
  });
  for (const origin of ["http://localhost:5173", undefined]) {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/posts/1`, {
      headers: origin === undefined ? {} : { origin },
    });
    assert.equal(res.status, 500);
    assert.match(res.headers.get("content-type") ?? "", /problem\+json/);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(
      res.headers.get("access-control-expose-headers"),
      EXPOSED_HEADERS,
    );
    assert.equal(res.headers.get("timing-allow-origin"), "*");
    assert.equal(res.headers.get("vary"), "Origin");
    const body = await res.json();
    assert.equal(body.status, 500);
    // Nothing of the error reaches the client.
    assert.doesNotMatch(JSON.stringify(body), /handler's bug/);
  }
});
