/**
 * Against the real JSONPlaceholder code and data (npm `jsonplaceholder`,
 * under Node): every route of ours answers JSON-equal to the service.
 */
import assert from "node:assert/strict";
import { NESTED, RESOURCES } from "../routes/jsonplaceholder/routes.ts";
import { testApp } from "./fixtures/app.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";

Deno.test("every route is JSON-equal to the real JSONPlaceholder", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const paths = [
    ...RESOURCES.flatMap((r) => [`/${r}`, `/${r}/1`, `/${r}/2`]),
    ...NESTED.map(([parent, child]) => `/${parent}/1/${child}`),
    "/comments?postId=1",
    "/posts?userId=1",
    "/todos?userId=2&completed=true",
  ];
  for (const path of paths) {
    const [ours, theirs] = await Promise.all([
      t.get(path),
      fetch(upstream.url + path),
    ]);
    assert.equal(ours.status, 200, path);
    assert.deepEqual(
      JSON.parse(await ours.text()),
      JSON.parse(await theirs.text()),
      path,
    );
  }
  const missing = await t.get("/posts/101");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const summary = await t.get("/users/1/summary");
  const body = await summary.json();
  assert.equal(body.user.id, 1);
  assert.equal(body.posts.length, 10);
  assert.equal(body.todos.length, 20);
  assert.equal(body.albums.length, 10);
  assert.deepEqual(body.errors, []);
});
