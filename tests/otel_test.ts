/**
 * OpenTelemetry (`OTEL_DENO=true`): the service exports a server span named
 * by its route and a client span for the upstream fetch under it, to a real
 * OTLP receiver on loopback.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ReceivedSpan,
  SpanKind,
  startOtlpReceiver,
} from "./fixtures/otlp_receiver.ts";
import { spawnOnUpstream } from "./fixtures/upstream_service.ts";

/** Whether `span`'s parent chain (within `spans`) reaches `ancestor`. */
function descendsFrom(
  span: ReceivedSpan,
  ancestor: ReceivedSpan,
  spans: readonly ReceivedSpan[],
): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let current: ReceivedSpan | undefined = span;
  for (let depth = 0; current && depth < spans.length; depth++) {
    if (current.parentSpanId === ancestor.spanId) return true;
    current = byId.get(current.parentSpanId);
  }
  return false;
}

Deno.test("OTEL_DENO=true exports a server span named by route and a client span for the upstream fetch", async () => {
  await using receiver = startOtlpReceiver();
  await using started = await spawnOnUpstream({
    env: {
      OTEL_DENO: "true",
      ...receiver.env,
      OTEL_SERVICE_NAME: "async-api",
      // console.* is not exported as OTLP logs (it stays on stdout).
      OTEL_DENO_CONSOLE: "ignore",
      // Export spans every 100 ms instead of every 5 s (or on exit).
      OTEL_BSP_SCHEDULE_DELAY: "100",
    },
  });
  const { service, upstream } = started;

  const res = await fetch(`${service.url}/posts/1`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).id, 1);
  const missing = await fetch(`${service.url}/no/such/path`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const isServer = (span: ReceivedSpan, path: string) =>
    span.kind === SpanKind.SERVER && span.attributes["url.path"] === path;
  const spans = await receiver.waitForSpans((spans) =>
    spans.some((s) => isServer(s, "/posts/1")) &&
    spans.some((s) => isServer(s, "/no/such/path")) &&
    spans.some((s) => s.kind === SpanKind.CLIENT)
  );

  // Deno 2.9 sends http.response.status_code as a string value.
  const server = spans.find((s) => isServer(s, "/posts/1"));
  assert.ok(server);
  assert.equal(server.name, "GET /posts/:id");
  assert.equal(server.attributes["http.route"], "/posts/:id");
  assert.equal(server.attributes["http.request.method"], "GET");
  assert.equal(String(server.attributes["http.response.status_code"]), "200");
  assert.equal(server.parentSpanId, "");
  assert.equal(server.resource["service.name"], "async-api");

  const client = spans.find((s) =>
    s.kind === SpanKind.CLIENT && s.traceId === server.traceId
  );
  assert.ok(client, "a client span in the server span's trace");
  assert.equal(client.name, "GET");
  assert.equal(client.attributes["http.request.method"], "GET");
  assert.equal(client.attributes["url.full"], `${upstream.url}/posts/1`);
  assert.equal(String(client.attributes["http.response.status_code"]), "200");
  assert.ok(descendsFrom(client, server, spans), "client under server");

  const unmatched = spans.find((s) => isServer(s, "/no/such/path"));
  assert.ok(unmatched);
  // No route matched: the plain method, and no http.route (semconv).
  assert.equal(unmatched.name, "GET");
  assert.equal(unmatched.attributes["http.route"], undefined);
  assert.equal(
    String(unmatched.attributes["http.response.status_code"]),
    "404",
  );
  assert.notEqual(unmatched.traceId, server.traceId);

  // Telemetry does not get in the way of a clean shutdown.
  service.kill("SIGTERM");
  assert.equal((await service.status).code, 0);
});
