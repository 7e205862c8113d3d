/**
 * A problem of type `about:blank` carries the status's reason phrase as its
 * `title` (RFC 9457 4.2.1): a 412 of a download or delete whose
 * precondition is false, and the 501 of a method no route takes, said
 * "Error". Checked on real answers of the served app, and for every error
 * status the OpenAPI document declares.
 *
 * @module
 */

import assert from "node:assert/strict";
import { statusTitle } from "../services/http/problem.ts";
import { serveApp } from "./fixtures/served_app.ts";

Deno.test("a 412 and a 501 problem are titled with their reason phrase", async () => {
  await using service = await serveApp({});
  const upload = await fetch(`${service.url}/files`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: new Uint8Array(16),
  });
  assert.equal(upload.status, 201);
  const { id } = await upload.json();
  const answers: [Response, number, string][] = [
    [
      await fetch(`${service.url}/files/${id}`, {
        headers: { "if-match": '"other"' },
      }),
      412,
      "Precondition Failed",
    ],
    [
      await fetch(`${service.url}/files/${id}`, {
        method: "DELETE",
        headers: { "if-match": '"other"' },
      }),
      412,
      "Precondition Failed",
    ],
    [
      await fetch(`${service.url}/posts/1`, { method: "FOO" }),
      501,
      "Not Implemented",
    ],
  ];
  for (const [res, status, title] of answers) {
    assert.equal(res.status, status);
    const body = await res.json();
    assert.equal(body.type, "about:blank");
    assert.equal(body.title, title, `${status}`);
  }
});

Deno.test("every error status the OpenAPI document declares has its reason phrase", async () => {
  await using service = await serveApp({});
  const document = await (await fetch(`${service.url}/openapi.json`)).json();
  const statuses = new Set<number>();
  for (const item of Object.values(document.paths) as object[]) {
    for (const operation of Object.values(item)) {
      for (const code of Object.keys(operation?.responses ?? {})) {
        if (Number(code) >= 400) statuses.add(Number(code));
      }
    }
  }
  assert.ok(statuses.has(412) && statuses.has(501), [...statuses].join());
  const untitled = [...statuses].filter((s) => statusTitle(s) === "Error");
  assert.deepEqual(untitled, []);
});
