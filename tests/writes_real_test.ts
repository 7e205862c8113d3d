/**
 * Issue 13 items 1 and 2 against the real JSONPlaceholder code and data
 * (npm `jsonplaceholder`, under Node), which fakes writes as the public
 * service does: every write route answers what the service answers, and a
 * write still drops what the cache held (the next read goes upstream),
 * since a front cannot know the upstream kept nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  NESTED,
  RESOURCE_INFO,
  RESOURCES,
} from "../routes/jsonplaceholder/resources.ts";
import { testApp } from "./fixtures/app.ts";
import { startJsonPlaceholder } from "./fixtures/jsonplaceholder.ts";
import { freshData } from "./fixtures/upstream_data.ts";

const JSON_HEADERS = { "content-type": "application/json; charset=UTF-8" };

Deno.test("every write route answers what the real JSONPlaceholder answers", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (const resource of RESOURCES) {
    for (
      const [method, path, body] of [
        ["POST", `/${resource}`, { title: "foo", userId: 1 }],
        ["PUT", `/${resource}/1`, { title: "bar" }],
        ["PATCH", `/${resource}/1`, { title: "baz" }],
        ["DELETE", `/${resource}/1`, undefined],
        ["PUT", `/${resource}/100000`, { title: "none" }],
      ] as const
    ) {
      const init = {
        method,
        ...(body ? { body: JSON.stringify(body), headers: JSON_HEADERS } : {}),
      };
      const [ours, theirs] = await Promise.all([
        t.get(path, init),
        fetch(upstream.url + path, init),
      ]);
      const where = `${method} ${path}`;
      assert.equal(ours.status, theirs.status, where);
      assert.equal(
        ours.headers.get("content-type"),
        theirs.headers.get("content-type"),
        where,
      );
      assert.deepEqual(await ours.json(), await theirs.json(), where);
    }
  }
  // The fake: a created post gets id 101 and is not there afterwards.
  const created = await t.get("/posts", {
    method: "POST",
    body: JSON.stringify({ title: "foo", body: "bar", userId: 1 }),
    headers: JSON_HEADERS,
  });
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), {
    title: "foo",
    body: "bar",
    userId: 1,
    id: 101,
  });
  const after = await t.get("/posts/101");
  assert.equal(after.status, 404);
  await after.body?.cancel();
});

Deno.test("against the real JSONPlaceholder, a write sends the next read of what it touched upstream", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const status = async (path: string) => {
    const res = await t.get(path);
    await res.body?.cancel();
    return res.headers.get("cache-status") ?? "";
  };
  const touched = [
    "/comments/5",
    "/comments?postId=1",
    "/posts/1/comments",
    "/posts/1?_embed=comments",
  ];
  const kept = ["/comments/6", "/posts/1", "/users/1"];
  for (const path of [...touched, ...kept]) await status(path);
  for (const path of [...touched, ...kept]) {
    assert.match(await status(path), /; hit/, path);
  }
  const res = await t.get("/comments/5", {
    method: "PUT",
    // An address the document's `format: email` pattern takes (a@b.c is
    // refused: a top-level domain of one letter).
    body: JSON.stringify({ postId: 1, name: "n", email: "a@b.co", body: "b" }),
    headers: JSON_HEADERS,
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  for (const path of touched) {
    assert.match(await status(path), /fwd=miss/, path);
  }
  for (const path of kept) assert.match(await status(path), /; hit/, path);
});

Deno.test("a create under a parent (POST /posts/1/comments, every nested collection) answers what the real JSONPlaceholder answers, and drops the cached lists it joins", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  for (const [parent, child] of NESTED) {
    const path = `/${parent}/1/${child}`;
    const list = await t.get(path);
    assert.equal(list.status, 200);
    await list.body?.cancel();
    const init = {
      method: "POST",
      body: JSON.stringify({ name: "foo", title: "bar", body: "baz" }),
      headers: JSON_HEADERS,
    };
    const ours = await t.get(path, init);
    const theirs = await fetch(upstream.url + path, init);
    assert.equal(ours.status, 201, path);
    assert.equal(theirs.status, 201, path);
    const created = await ours.json();
    assert.deepEqual(created, await theirs.json(), path);
    assert.equal(created[`${RESOURCE_INFO[parent].noun}Id`], 1, path);
    // The list is read again from the upstream (which kept nothing).
    const again = await t.get(path);
    assert.match(again.headers.get("cache-status")!, /fwd=miss/, path);
    const fresh = await fetch(upstream.url + path);
    assert.deepEqual(await again.json(), await fresh.json(), path);
  }
  const bad = await t.get("/posts/abc/comments", {
    method: "POST",
    body: "{}",
    headers: JSON_HEADERS,
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).title, "Invalid id");
});

Deno.test("the real JSONPlaceholder's answer to every write route, with its own items as bodies, passes the type check: none is a 502", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const data = freshData();
  const cases: [string, string, Record<string, unknown> | undefined][] = [];
  for (const resource of RESOURCES) {
    // A whole item as a client sends it back (its id too), and one field.
    const item = data[resource]![1]!;
    const [first] = Object.entries(item).filter(([key]) => key !== "id");
    const one = Object.fromEntries([first!]);
    cases.push(
      ["POST", `/${resource}`, item],
      ["POST", `/${resource}`, {}],
      ["PUT", `/${resource}/1`, item],
      ["PUT", `/${resource}/1`, {}],
      ["PATCH", `/${resource}/1`, one],
      ["PATCH", `/${resource}/1`, {}],
      ["DELETE", `/${resource}/1`, undefined],
    );
  }
  for (const [parent, child] of NESTED) {
    const { id: _, ...item } = data[child]![1]!;
    cases.push(
      ["POST", `/${parent}/1/${child}`, item],
      ["POST", `/${parent}/1/${child}`, {}],
    );
  }
  for (const [method, path, body] of cases) {
    const init = {
      method,
      ...(body ? { body: JSON.stringify(body), headers: JSON_HEADERS } : {}),
    };
    // One after the other: JSONPlaceholder resets its data as each request
    // comes in, and two at once shared one state (ids 501 and 502).
    const ours = await t.get(path, init);
    const theirs = await fetch(upstream.url + path, init);
    const where = `${method} ${path} ${JSON.stringify(body)}`;
    assert.equal(ours.status, method === "POST" ? 201 : 200, where);
    assert.equal(ours.status, theirs.status, where);
    assert.deepEqual(await ours.json(), await theirs.json(), where);
  }
});

Deno.test("a write's strings that the real JSONPlaceholder turns into numbers or booleans come back as sent, not a 502", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const sent = { title: "5", body: "true", userId: 1 };
  const init = {
    method: "POST",
    body: JSON.stringify(sent),
    headers: JSON_HEADERS,
  };
  // json-server 0.8 stores "5" as 5 and "true" as true (its toNative).
  const theirs = await (await fetch(upstream.url + "/posts", init)).json();
  assert.equal(theirs.title, 5);
  const ours = await t.get("/posts", init);
  assert.equal(ours.status, 201);
  const answer = await ours.json();
  assert.equal(answer.title, "5");
  assert.equal(answer.body, "true");
  assert.equal(answer.userId, 1);
  assert.equal(typeof answer.id, "number");
  // A string it keeps as it is ("05", " 5") passes unchanged.
  const kept = await t.get("/posts/1", {
    method: "PATCH",
    body: JSON.stringify({ title: "05" }),
    headers: JSON_HEADERS,
  });
  assert.equal(kept.status, 200);
  assert.equal((await kept.json()).title, "05");
});

Deno.test("a write sent as a +json type (application/merge-patch+json) is written by the real JSONPlaceholder, whose body-parser reads application/json only", async () => {
  await using upstream = await startJsonPlaceholder();
  await using t = await testApp(["--upstream-url", upstream.url]);
  const cases = [
    ["PATCH", "/posts/1", "application/merge-patch+json", { title: "new" }],
    ["PUT", "/todos/2", "application/vnd.api+json; charset=utf-8", {
      title: "t",
      completed: true,
    }],
    ["POST", "/users/1/albums", "application/x.album+JSON", { title: "a" }],
  ] as const;
  for (const [method, path, type, body] of cases) {
    const sent = JSON.stringify(body);
    const ours = await t.get(path, {
      method,
      body: sent,
      headers: { "content-type": type },
    });
    // What the real one answers the same write sent as application/json.
    const theirs = await fetch(upstream.url + path, {
      method,
      body: sent,
      headers: JSON_HEADERS,
    });
    const where = `${method} ${path} as ${type}`;
    assert.equal(ours.status, theirs.status, where);
    const answer = await ours.json();
    assert.deepEqual(answer, await theirs.json(), where);
    // Each field written, not dropped as a body json-server did not read.
    for (const [key, value] of Object.entries(body)) {
      assert.equal(answer[key], value, `${where}: ${key}`);
    }
  }
});
