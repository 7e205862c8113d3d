/**
 * `TRUSTED_PROXIES` behind a real nginx (`nginx_balancer.ts`, the
 * `deploy/nginx.conf` shape, which appends the client to
 * `X-Forwarded-For`). Without it every request's client was nginx's
 * address, so one client flooding cold keys through nginx used the share
 * of every client, and another client's miss was shed with 503. With
 * nginx's address trusted, two clients behind it (127.0.0.2 and 127.0.0.3,
 * `Deno.createHttpClient`'s `localAddress`) get a share each; a client
 * that is not a trusted proxy is counted by its own address whatever
 * `X-Forwarded-For` it sends, straight to the instance or through nginx.
 *
 * The share: `--upstream-concurrency 4 --upstream-queue-limit 8` at the
 * default 50% is 6 calls per client; the flood's keys answer after 1.5 s.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startLoadBalancer } from "./fixtures/nginx_balancer.ts";
import { serveSlowComments } from "./fixtures/slow_comments.ts";
import { TrustedProxies } from "../services/http/trusted_proxies.ts";
import { loadConfig } from "../services/ops/config.ts";
import { ConfigError } from "../services/ops/config_values.ts";

const FLOOD = 20;
const SHARE = 6;

/** Status and body of one GET through `client`, with `headers`. */
async function got(
  url: string,
  client: Deno.HttpClient,
  headers: HeadersInit = {},
) {
  const res = await fetch(url, { client, headers });
  return { status: res.status, body: await res.text() };
}

/**
 * The app on a slow upstream (`slow_comments.ts`) trusting 127.0.0.1,
 * where nginx connects from, behind nginx; disposing stops all three.
 */
async function slowBehindNginx() {
  await using stack = new AsyncDisposableStack();
  const slow = stack.use(
    await serveSlowComments(["--trusted-proxies", "127.0.0.1"]),
  );
  const lb = stack.use(
    await startLoadBalancer({
      upstreams: [Number(new URL(slow.served.url).port)],
    }),
  );
  const owned = stack.move();
  return {
    upstream: slow.upstream,
    served: slow.served,
    lb,
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

/**
 * `FLOOD` cold keys from `client` at `base`, each with its own made-up
 * `X-Forwarded-For`, from `postId=first` on; how many were served (the
 * rest were shed).
 */
async function flood(base: string, client: Deno.HttpClient, first: number) {
  const answers = await Promise.all(
    Array.from(
      { length: FLOOD },
      (_, n) =>
        got(`${base}/comments?postId=${first + n}`, client, {
          "x-forwarded-for": `198.51.100.${n + 1}`,
        }),
    ),
  );
  return answers.filter((a) => a.status === 200).length;
}

Deno.test("behind nginx with TRUSTED_PROXIES=127.0.0.1 two clients get a share each: one flooding cold keys leaves the other's miss served", async () => {
  await using slow = await slowBehindNginx();
  const { upstream, lb } = slow;
  using a = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  using b = Deno.createHttpClient({ localAddress: "127.0.0.3" });
  const flooded = Promise.all(
    Array.from(
      { length: FLOOD },
      (_, n) => got(`${lb.url}/comments?postId=${n + 1}`, a),
    ),
  );
  await upstream.waitForRequests(4, /^\/comments\?/);
  // Before: both clients were nginx's 127.0.0.1, whose share the flood
  // held, and this miss was shed with 503.
  const miss = await got(`${lb.url}/users/3/todos`, b);
  assert.equal(miss.status, 200, miss.body);
  const ok = (await flooded).filter((r) => r.status === 200).length;
  assert.equal(ok, SHARE, "the flooding client's own share");
  assert.equal(upstream.hits(/^\/comments\?/), SHARE);
});

Deno.test("a spoofed X-Forwarded-For counts for nothing from a peer that is not a trusted proxy, straight or through nginx", async () => {
  await using slow = await slowBehindNginx();
  const { served, lb } = slow;
  using spoofer = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  // Straight to the instance: the peer 127.0.0.2 is not trusted.
  assert.equal(await flood(served.url, spoofer, 1), SHARE);
  // Through nginx: what it appends (127.0.0.2) is the rightmost untrusted
  // hop; the made-up addresses left of it are never reached.
  assert.equal(await flood(lb.url, spoofer, 101), SHARE);
});

Deno.test("TrustedProxies: rightmost untrusted hop past trusted peers, CIDRs and IPv6; untrusted or unknown peers stand", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8", "::1"]);
  const xff = (value: string) => new Headers({ "x-forwarded-for": value });
  assert.equal(
    proxies.clientOf("10.1.2.3", xff("192.0.2.1, 203.0.113.9, 10.9.9.9")),
    "203.0.113.9",
  );
  assert.equal(proxies.clientOf("::1", xff("2001:db8::7")), "2001:db8::7");
  assert.equal(proxies.clientOf("192.0.2.5", xff("10.0.0.1")), "192.0.2.5");
  assert.equal(proxies.clientOf("10.1.2.3", new Headers()), "10.1.2.3");
  assert.equal(proxies.clientOf(undefined, xff("192.0.2.1")), undefined);
  assert.equal(
    new TrustedProxies().clientOf("127.0.0.1", xff("192.0.2.1")),
    "127.0.0.1",
  );
});

Deno.test("TRUSTED_PROXIES takes a comma list of addresses, CIDRs and range names; empty by default; anything else stops the start", () => {
  const loaded = loadConfig({
    args: ["--trusted-proxies", " 10.0.0.0/8, ::1 ,loopback"],
  });
  assert.ok(!loaded.help);
  assert.deepEqual(loaded.config.trustedProxies, [
    "10.0.0.0/8",
    "::1",
    "loopback",
  ]);
  const defaults = loadConfig({});
  assert.ok(!defaults.help);
  assert.deepEqual(defaults.config.trustedProxies, []);
  assert.throws(
    () => loadConfig({ args: ["--trusted-proxies", "10.0.0.1,nginx"] }),
    (error) =>
      error instanceof ConfigError &&
      error.setting === "TRUSTED_PROXIES" && /: nginx in /.test(error.message),
  );
});
