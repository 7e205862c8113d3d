/**
 * `TRUST_FORWARDED_PROTO`: behind a proxy that ends TLS, a list's `Link`
 * URLs say the scheme the client used, as the named header gives it
 * (`X-Forwarded-Proto`, or RFC 7239 `Forwarded: proto=`). Off by default:
 * any client can send either header. They said `http://` whatever the
 * proxy said before. Through a real nginx: `deployed_nginx_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { loadConfig } from "../services/ops/config.ts";
import { ConfigError } from "../services/ops/config_values.ts";
import { testApp } from "./fixtures/app.ts";
import { linksOf } from "./fixtures/link_header.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";

const PAGE = "/posts?_page=2&_limit=2";

/** The schemes of the `Link` URLs of `PAGE` asked with `headers`. */
async function linkSchemes(
  get: (path: string, init?: RequestInit) => Promise<Response>,
  headers: Record<string, string>,
): Promise<string[]> {
  const res = await get(PAGE, { headers });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const urls = Object.values(linksOf(res));
  assert.equal(urls.length, 4, res.headers.get("link") ?? "no Link");
  return [...new Set(urls.map((url) => new URL(url).protocol))];
}

Deno.test("TRUST_FORWARDED_PROTO=x-forwarded-proto: Link says https when the proxy says so, and only then", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--trust-forwarded-proto",
    "x-forwarded-proto",
  ]);
  assert.deepEqual(
    await linkSchemes(t.get, { "x-forwarded-proto": "https" }),
    ["https:"],
  );
  // The same cached answer, asked over plain http.
  assert.deepEqual(await linkSchemes(t.get, {}), ["http:"]);
  assert.deepEqual(
    await linkSchemes(t.get, { "x-forwarded-proto": "HTTPS" }),
    ["https:"],
  );
  // The nearest proxy's element counts; anything but http/https is not taken.
  assert.deepEqual(
    await linkSchemes(t.get, { "x-forwarded-proto": "https, http" }),
    ["http:"],
  );
  assert.deepEqual(
    await linkSchemes(t.get, { "x-forwarded-proto": "javascript" }),
    ["http:"],
  );
  // The other header is not the one named: the client's own.
  assert.deepEqual(
    await linkSchemes(t.get, { forwarded: "proto=https" }),
    ["http:"],
  );
});

Deno.test("TRUST_FORWARDED_PROTO=forwarded takes RFC 7239 proto=, quoted or not, from the last element", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp([
    "--upstream-url",
    upstream.url,
    "--trust-forwarded-proto",
    "forwarded",
  ]);
  assert.deepEqual(
    await linkSchemes(t.get, { forwarded: 'for=192.0.2.60;Proto="https"' }),
    ["https:"],
  );
  assert.deepEqual(
    await linkSchemes(t.get, {
      forwarded: "for=192.0.2.43;proto=http, for=198.51.100.17;proto=https",
    }),
    ["https:"],
  );
  assert.deepEqual(
    await linkSchemes(t.get, { forwarded: "for=192.0.2.43" }),
    ["http:"],
  );
  assert.deepEqual(
    await linkSchemes(t.get, { "x-forwarded-proto": "https" }),
    ["http:"],
  );
});

Deno.test("TRUST_FORWARDED_PROTO off (the default): both headers are ignored", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  assert.equal(t.config.trustForwardedProto, "off");
  assert.deepEqual(
    await linkSchemes(t.get, {
      "x-forwarded-proto": "https",
      forwarded: "proto=https",
    }),
    ["http:"],
  );
});

Deno.test("TRUST_FORWARDED_PROTO takes off, x-forwarded-proto or forwarded only", () => {
  const loaded = loadConfig({
    args: ["--trust-forwarded-proto", "X-Forwarded-Proto"],
  });
  assert.ok(!loaded.help);
  assert.equal(loaded.config.trustForwardedProto, "x-forwarded-proto");
  assert.throws(
    () => loadConfig({ args: ["--trust-forwarded-proto", "yes"] }),
    (error) =>
      error instanceof ConfigError &&
      error.setting === "TRUST_FORWARDED_PROTO" &&
      /off, x-forwarded-proto, forwarded/.test(error.message),
  );
});
