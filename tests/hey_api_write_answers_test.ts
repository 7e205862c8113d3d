/**
 * The validating client `@hey-api/openapi-ts` generates from the served
 * `/openapi.json`, writing through the service to an upstream (the
 * fixture, `Deno.serve` on port 0) that answers what the document does
 * not promise. Before, each was passed on: a 201 `{"id":"abc",
 * "userId":null}` failed in the client with a ZodError (the write done,
 * the status 201), a 204 to a delete was `null` where an object is typed,
 * and a 307 to another host made the client send that host the write.
 * Now each is a 502 problem+json, which the client reads as its error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withHeyApiClient } from "./fixtures/hey_api_client.ts";
import { serveApp } from "./fixtures/served_app.ts";
import { startFixtureUpstream } from "./fixtures/upstream.ts";

/** The program: three writes, each answer told as JSON. */
const PROGRAM = `
import { client } from "./client/client.gen.ts";
import { createPost, deletePost, replacePost } from "./client/sdk.gen.ts";

client.setConfig({ baseUrl: Deno.args[0]! });
type Result = { data?: unknown; error?: unknown; response?: Response };
const told = async (call: () => Promise<Result>) => {
  try {
    const { data, error, response } = await call();
    return { status: response?.status, data, error };
  } catch (thrown) {
    return { thrown: (thrown as Error).name };
  }
};
console.log(JSON.stringify({
  create: await told(() => createPost({ body: { title: "t" } })),
  remove: await told(() => deletePost({ path: { id: 2 } })),
  replace: await told(() =>
    replacePost({ path: { id: 3 }, body: { title: "t" } })
  ),
}));
`;

/** Each write of the program, and what the upstream answered it. */
const UPSTREAM_STATUSES = [
  ["create", 201],
  ["remove", 204],
  ["replace", 307],
] as const;

Deno.test("a generated validating client gets 502 problem+json for a write answer the document does not promise, and never reaches the host a redirect names", async () => {
  await using upstream = startFixtureUpstream();
  let elsewhere = 0;
  const other = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      elsewhere++;
      await req.body?.cancel();
      return Response.json({ id: 3, title: "elsewhere" });
    },
  );
  try {
    await using service = await serveApp({
      args: ["--upstream-url", upstream.url],
    });
    upstream.setFault("/posts", {
      status: 201,
      body: '{"id":"abc","userId":null,"title":"t"}',
    });
    upstream.setFault("/posts/2", { status: 204 });
    upstream.setFault("/posts/3", {
      status: 307,
      headers: { location: `http://127.0.0.1:${other.addr.port}/posts/3` },
    });
    await withHeyApiClient(service.url, async (run) => {
      const result = JSON.parse(await run(PROGRAM));
      for (const [what, upstreamStatus] of UPSTREAM_STATUSES) {
        const told = result[what];
        assert.equal(told.status, 502, `${what}: ${JSON.stringify(told)}`);
        assert.equal(told.data, undefined, what);
        assert.equal(told.error.status, 502, what);
        assert.equal(told.error.upstreamStatus, upstreamStatus, what);
      }
      assert.match(result.create.error.detail, /userId: .*\bid: /);
    });
    assert.equal(elsewhere, 0, "the other host got nothing");
  } finally {
    await other.shutdown();
  }
});
