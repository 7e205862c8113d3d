/**
 * An unhandled promise rejection is logged as an error with the request id
 * of the request it happened for, and the process goes on (issue 8, item 3).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CacheEntry } from "../services/cache/store.ts";
import { MemoryStore } from "../services/cache/memory_store.ts";
import { createLogger } from "../services/ops/logger.ts";
import {
  currentRequestId,
  logUnhandledRejections,
  withRequestId,
} from "../services/http/request_scope.ts";
import { testApp } from "./fixtures/app.ts";
import { spawnService } from "./fixtures/spawn.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

const PRELOAD = new URL("./fixtures/floating_rejection.ts", import.meta.url)
  .pathname;

/** A store that, like buggy code, starts a rejection nobody awaits. */
class CarelessStore extends MemoryStore {
  override get(key: string): Promise<CacheEntry | undefined> {
    Promise.reject(new Error(`careless lookup of ${key}`));
    return super.get(key);
  }
}

Deno.test("the request id follows the request across awaits and timers", async () => {
  assert.equal(currentRequestId(), undefined);
  const seen = await withRequestId("req-a", async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return await new Promise<string | undefined>((resolve) =>
      setTimeout(() => resolve(currentRequestId()), 5)
    );
  });
  assert.equal(seen, "req-a");
  assert.equal(currentRequestId(), undefined);
});

Deno.test("a rejection nobody awaited during a request is logged with its request id", async () => {
  await using upstream = startFixtureUpstream();
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "error",
    write: (line) => records.push(JSON.parse(line)),
  });
  using _ = logUnhandledRejections(logger);
  await using t = await testApp(["--upstream-url", upstream.url], {
    store: new CarelessStore({ maxBytes: 1 << 20 }),
  });
  const res = await t.get("/posts/1", {
    headers: { "x-request-id": "req-careless-1" },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  for (let i = 0; i < 50 && records.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const record = records.find((r) => r.msg === "unhandled_rejection");
  assert.ok(record, JSON.stringify(records));
  assert.equal(record.level, "error");
  assert.equal(record.requestId, "req-careless-1");
  assert.match(
    String((record.error as { message?: string }).message),
    /careless lookup/,
  );
});

Deno.test("the running service logs an unhandled rejection and keeps serving", async () => {
  await using upstream = startFixtureUpstream();
  await withTempDir(async (dataDir) => {
    await using service = await spawnService(["--data-dir", dataDir], {
      env: { UPSTREAM_URL: upstream.url },
      denoArgs: ["-A", "--preload", PRELOAD],
    });
    let exited = false;
    service.status.then(() => exited = true);
    const res = await fetch(`${service.url}/posts/1`, {
      headers: { "x-request-id": "req-floating-1" },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    // Errors go to stderr.
    for (
      let i = 0;
      i < 100 && !service.stderr.includes("unhandled_rejection");
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const line = service.stderr.split("\n").find((l) =>
      l.includes('"unhandled_rejection"')
    );
    assert.ok(line, `no unhandled_rejection line:\n${service.stderr}`);
    const record = JSON.parse(line);
    assert.equal(record.level, "error");
    assert.equal(record.requestId, "req-floating-1");
    assert.equal(exited, false, service.stderr);

    const again = await fetch(`${service.url}/posts/2`);
    assert.equal(again.status, 200);
    await again.body?.cancel();
  });
});
