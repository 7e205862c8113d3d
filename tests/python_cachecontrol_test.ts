/**
 * Python's CacheControl (Debian `python3-cachecontrol`; pip vendors it for
 * its own HTTP cache) as a downstream of the service. It counts a copy's
 * age from `Date` alone and never reads `Age` (its controller.py:
 * `current_age = max(0, now - date)`), so a cached answer must carry the
 * `Date` its content was made, as any cache's stored answer does (RFC 9110
 * 6.6.1, RFC 9111 4.2.3's `apparent_age`), not the time it was sent: with
 * `Date` now, a copy taken a second before the entry here expired was kept
 * a whole TTL more. `CACHE_STORED_DATE=true` dates a cached answer so; off
 * (the default: one header more per hit) `Date` is now, as the last test
 * shows.
 *
 * Which requests reached the service tells its `X-Request-Id`: a copy from
 * CacheControl's cache repeats the one it was stored with (a 304 it asked
 * for updates it).
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import assert from "node:assert/strict";
import { runTool } from "./fixtures/tool.ts";
import { serveCaching } from "./fixtures/caching_service.ts";

const PYTHON = Deno.env.get("PYTHON3_PATH") ?? "/usr/bin/python3";
const TTL_SECONDS = 4;

// One CacheControl session: a GET, a pause of argv[2] seconds, a GET.
const SCRIPT = `
import json, sys, time, requests
from cachecontrol import CacheControl
session = CacheControl(requests.Session())
seen = []
for pause in (0, float(sys.argv[2])):
    time.sleep(pause)
    r = session.get(sys.argv[1])
    seen.append({"status": r.status_code, "id": r.headers.get("x-request-id"),
                 "age": r.headers.get("age"), "date": r.headers.get("date"),
                 "cacheStatus": r.headers.get("cache-status")})
print(json.dumps(seen))
`;

interface Seen {
  status: number;
  id: string;
  age: string | null;
  date: string | null;
  cacheStatus: string | null;
}

/** Two GETs of `url` by one CacheControl session, `pauseMs` apart. */
async function twice(url: string, pauseMs: number): Promise<Seen[]> {
  const out = await runTool(
    PYTHON,
    ["-c", SCRIPT, url, String(pauseMs / 1000)],
    {
      install: "apt-get install -y python3-cachecontrol",
    },
  );
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

Deno.test("CACHE_STORED_DATE: CacheControl lets a copy go when the entry here goes, not a TTL later", async () => {
  await using s = await serveCaching({
    ttlSeconds: TTL_SECONDS,
    swrSeconds: 30,
    args: ["--cache-stored-date", "true"],
  });
  await (await fetch(`${s.served.url}/posts/1`)).body?.cancel();
  const stored = Date.now();
  await sleep(TTL_SECONDS * 1000 - 2500 - (Date.now() - stored));

  // Taken 1.5 s into the entry's 4 (a hit until 3 s: the last second is
  // served stale, tests/hit_fresh_downstream_test.ts; Python's start takes
  // some of the slack), asked again 0.2 s after its end.
  const pause = stored + TTL_SECONDS * 1000 + 200 - Date.now();
  const [held, after] = await twice(`${s.served.url}/posts/1`, pause);
  assert.match(held!.cacheStatus ?? "", /; hit; /);
  assert.notEqual(
    after!.id,
    held!.id,
    `CacheControl served its copy (Age ${held!.age}, Date ${
      held!.date
    }) past the entry's end`,
  );
  assert.equal(after!.status, 200);
});

Deno.test("CACHE_STORED_DATE: CacheControl keeps a copy while the entry here is fresh", async () => {
  await using s = await serveCaching({
    ttlSeconds: TTL_SECONDS,
    swrSeconds: 30,
    args: ["--cache-stored-date", "true"],
  });
  await (await fetch(`${s.served.url}/posts/2`)).body?.cancel();
  await sleep(1000);
  // Taken a second into the entry's life; 1 s later it is still fresh here.
  const [held, again] = await twice(`${s.served.url}/posts/2`, 1000);
  assert.match(held!.cacheStatus ?? "", /; hit; /);
  assert.equal(
    again!.id,
    held!.id,
    "CacheControl asked again for a fresh copy",
  );
});

Deno.test("CACHE_STORED_DATE: Date on hits, 304s, cached 404s and the summary; none without it", async () => {
  await using on = await serveCaching({
    ttlSeconds: 60,
    swrSeconds: 0,
    args: ["--cache-stored-date", "true"],
  });
  await using off = await serveCaching({ ttlSeconds: 60, swrSeconds: 0 });
  const paths = ["/posts/1", "/posts/9999", "/users/1/summary"];
  for (const s of [on, off]) {
    for (const path of paths) {
      await (await fetch(s.served.url + path)).body?.cancel();
    }
  }
  await sleep(2100);
  for (const [s, stored] of [[on, true], [off, false]] as const) {
    for (const path of paths) {
      const res = await fetch(s.served.url + path);
      await res.body?.cancel();
      const apparent = (Date.now() - Date.parse(res.headers.get("date")!)) /
        1000;
      const age = Number(res.headers.get("age"));
      assert.ok(age >= 2, `${path}: Age ${age}`);
      if (stored) {
        // Within a second of Age, as chromium's apparent_age would be.
        assert.ok(
          apparent >= age - 1 && apparent < age + 1.5,
          `${path}: Date ${res.headers.get("date")} is not Age ${age} s ago`,
        );
      } else {
        assert.ok(apparent < 1.5, `${path}: Date is not now`);
      }
    }
    const first = await fetch(s.served.url + "/posts/1");
    await first.body?.cancel();
    const etag = first.headers.get("etag")!;
    const notModified = await fetch(s.served.url + "/posts/1", {
      headers: { "if-none-match": etag },
    });
    await notModified.body?.cancel();
    assert.equal(notModified.status, 304);
    const apparent = (Date.now() -
      Date.parse(notModified.headers.get("date")!)) / 1000;
    assert.equal(apparent >= 2, stored, `304's Date, stored ${stored}`);
  }
});
