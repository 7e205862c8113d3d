/**
 * Every media type an upload is stored with is one `/openapi.json`
 * declares for the operation. The service takes a raw body of any type but
 * a form (and keeps the type for the download), while the document listed
 * only `application/octet-stream` and `multipart/form-data`: Prism
 * (`prism proxy --errors`) in front of the service answered `PUT /files`
 * with `Content-Type: image/png` 415 itself, a request the service stores.
 * What the service refuses (an urlencoded form on a POST, another multipart
 * type) stays a declared 415.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { OpenApiDocument } from "../routes/openapi.ts";
import { serveTempApp } from "./fixtures/served_app.ts";

/** Whether `range` (`*` + `/` + `*`, `image/*`, `image/png`) covers `type`. */
function covers(range: string, type: string): boolean {
  const [rangeType, rangeSub] = range.split("/");
  const [mainType, subType] = type.split("/");
  return (rangeType === "*" || rangeType === mainType) &&
    (rangeSub === "*" || rangeSub === subType);
}

/** Method, the path requested, its path in the document, its operation. */
const OPERATIONS: [string, string, string, string][] = [
  ["POST", "/files", "/files", "post"],
  ["PUT", "/files", "/files", "put"],
  ["PUT", "/files/data.bin", "/files/{id}", "put"],
  ["POST", "/file", "/file", "post"],
];

const TYPES = ["image/png", "text/csv", "application/pdf", "video/mp4"];

Deno.test("an upload of any media type the service stores is declared for its operation", async () => {
  await using served = await serveTempApp();
  const doc = await (await fetch(`${served.url}/openapi.json`))
    .json() as OpenApiDocument;
  for (const [method, path, docPath, key] of OPERATIONS) {
    const declared = Object.keys(
      doc.paths[docPath]?.[key]?.requestBody?.content ?? {},
    );
    for (const type of TYPES) {
      const res = await fetch(served.url + path, {
        method,
        headers: { "content-type": type },
        body: `bytes of ${type}`,
      });
      assert.equal(res.status, 201, `${method} ${path} as ${type}`);
      assert.equal((await res.json()).contentType, type);
      assert.ok(
        declared.some((range) => covers(range, type)),
        `${method} ${path} as ${type}: declared ${declared.join(", ")}`,
      );
    }
    const form = await fetch(served.url + path, {
      method,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=1",
    });
    // A PUT's urlencoded body is what `wget --method=PUT --body-file`
    // sends for any file: its bytes, the type not kept.
    const refused = method === "POST";
    const answer = await form.json();
    assert.equal(form.status, refused ? 415 : 201, `${method} ${path}`);
    if (!refused) assert.equal(answer.contentType, undefined);
    assert.ok(doc.paths[docPath]?.[key]?.responses["415"], `${path} 415`);
  }
});
