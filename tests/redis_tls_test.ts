/**
 * `REDIS_URL=rediss://…` against a real `redis-server` serving TLS, as
 * managed Redis offerings require. The service (a child process, so that
 * `DENO_CERT` is its own) trusts a private certificate through `DENO_CERT`,
 * which README's Shared cache section names; without it, the start logs
 * `cache.redis_down` with the reason and answers from memory and the
 * upstream, as with Redis down.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startRedis } from "./fixtures/redis.ts";
import { selfSigned } from "./fixtures/self_signed.ts";
import { until } from "./fixtures/until.ts";
import { spawnOnUpstream } from "./fixtures/upstream_service.ts";

const ENTRY = "async-api:cache:/posts/1";

Deno.test("REDIS_URL=rediss:// with the certificate trusted through DENO_CERT: entries are stored in Redis over TLS", async () => {
  await using tls = await selfSigned();
  await using redis = await startRedis({ tls });
  await using started = await spawnOnUpstream({
    flags: ["--redis-url", redis.tlsUrl!],
    env: { DENO_CERT: tls.cert },
  });
  const { service } = started;
  await service.waitForLine((line) => line.msg === "cache.redis_up");
  const res = await fetch(`${service.url}/posts/1`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
  // Read over the plain port: the entry came in over the TLS one.
  await until(async () => await redis.command("EXISTS", ENTRY) === 1, ENTRY);
  assert.equal(
    service.lines.some((l) => l.includes("cache.redis_down")),
    false,
  );
});

Deno.test("REDIS_URL=rediss:// with an untrusted certificate: cache.redis_down names the reason, answers come from the upstream", async () => {
  await using tls = await selfSigned();
  await using redis = await startRedis({ tls });
  await using started = await spawnOnUpstream({
    flags: ["--redis-url", redis.tlsUrl!],
  });
  const { service } = started;
  const down = await service.waitForLine((line) =>
    line.msg === "cache.redis_down"
  );
  assert.match(String(down.error), /certificate/i);
  assert.equal(down.url, redis.tlsUrl);
  const res = await fetch(`${service.url}/posts/1`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal(await redis.command("EXISTS", ENTRY), 0);
});
