/**
 * `ProxyRules` (services/storage/proxy_rules.ts) against what Deno's own
 * fetch does with the same environment: for each case a child `deno eval`
 * fetches a few loopback URLs with only that environment, through a
 * recording proxy that refuses everything (so nothing goes further), and
 * the requests the proxy saw (target and `Proxy-Authorization`) must be
 * the ones the rules predict. The parts of an S3 upload follow the rules,
 * the store's other calls fetch: where they disagree, a store reachable
 * only through the proxy gets half an upload. Also: a part's tunnel through
 * a proxy that never answers ends with its signal.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProxyRules } from "../services/storage/proxy_rules.ts";
import { putBytes } from "../services/storage/s3_put_bytes.ts";
import { directTrap, startHttpProxy } from "./fixtures/http_proxy.ts";
import { until } from "./fixtures/until.ts";

/** The environments tried; `P` stands for the proxy's `host:port`. */
const CASES: Record<string, string>[] = [
  { HTTP_PROXY: "http://P" },
  { http_proxy: "http://P", HTTPS_PROXY: "http://u%40x:p%3Ay@P" },
  { https_proxy: "P" },
  { ALL_PROXY: "http://all:x@P", HTTPS_PROXY: "http://s:x@P", HTTP_PROXY: "P" },
  { HTTP_PROXY: "P", HTTPS_PROXY: "P", REQUEST_METHOD: "GET" },
  { HTTP_PROXY: "http://user@P", HTTPS_PROXY: "ftp://P" },
  { HTTPS_PROXY: "ftp://P", https_proxy: "http://user:@P/path" },
  { ALL_PROXY: "P", NO_PROXY: "127.0.0.0/8" },
  { ALL_PROXY: "P", NO_PROXY: " ::1 , localhost" },
  { ALL_PROXY: "P", NO_PROXY: "[::1],127.0.0.5:PORT,*.0.0.6,calhost" },
  { ALL_PROXY: "P", NO_PROXY: "*" },
  { ALL_PROXY: "P", NO_PROXY: "", no_proxy: "*" },
  { ALL_PROXY: "P", no_proxy: ".localhost,127.0.0.6" },
  { ALL_PROXY: "P", NO_PROXY: "LOCALHOST,127.0.0.5/32" },
];

/** What a proxy sees for `url` fetched through it. */
function requestFor(url: URL): string {
  return url.protocol === "https:" ? `CONNECT ${url.host}` : `GET ${url.href}`;
}

Deno.test("ProxyRules take the proxy Deno's fetch takes, case by case", async () => {
  await using trap = directTrap();
  await using proxy = startHttpProxy();
  proxy.refuse(403);
  const urls = [
    `http://127.0.0.5:${trap.port}/a`,
    `https://127.0.0.6:${trap.port}/b`,
    `http://[::1]:${trap.port}/c`,
    `http://localhost:${trap.port}/d`,
  ].map((url) => new URL(url));
  const script = `for (const url of ${JSON.stringify(urls.map(String))}) {
    await fetch(url, { signal: AbortSignal.timeout(10000) })
      .then((res) => res.body?.cancel(), () => {});
  }`;
  for (const raw of CASES) {
    const env = Object.fromEntries(
      Object.entries(raw).map(([name, value]) => [
        name,
        value.replace("PORT", String(trap.port))
          .replace("P", `127.0.0.1:${proxy.port}`),
      ]),
    );
    const seen = proxy.requests.length;
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      clearEnv: true,
      env: {
        ...env,
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "/tmp",
        DENO_NO_UPDATE_CHECK: "1",
      },
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(code, 0);
    const fetched = proxy.requests.slice(seen).map((request, i) =>
      `${request} ${proxy.authorizations[seen + i]}`
    );
    const rules = ProxyRules.fromEnv((name) => env[name]);
    const predicted = urls.flatMap((url) => {
      const chosen = rules.proxyFor(url);
      return chosen ? [`${requestFor(url)} ${chosen.authorization ?? ""}`] : [];
    });
    assert.deepEqual(fetched, predicted, JSON.stringify(env));
  }
});

Deno.test("putBytes: a proxy that never answers CONNECT holds the part only until its signal ends it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  try {
    const rules = ProxyRules.fromEnv((name) =>
      name === "HTTPS_PROXY" ? `127.0.0.1:${listener.addr.port}` : undefined
    );
    const url = new URL("https://127.0.0.1:9/bucket/key");
    const proxy = rules.proxyFor(url);
    assert.ok(proxy);
    const stop = new AbortController();
    const put = putBytes(url, new Headers(), new Uint8Array(10), {
      signal: stop.signal,
      proxy,
    });
    // Aborted once the proxy holds the connection, its CONNECT unanswered.
    await until(() => held.length > 0, "the proxy holding the connection");
    stop.abort(new Error("gave up"));
    await assert.rejects(put, /gave up/);
  } finally {
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
  }
});
