/**
 * Every 5xx problem body carries `requestId`, the id of `X-Request-Id` and
 * of the request's log lines, as the OpenAPI `Problem` schema says: not
 * only those of the central error handler, but the 507 of an upload larger
 * than the free space, the storage's 503, `/readyz`'s 503 while draining
 * and the router's 501. They lacked it before.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { OpenApiDocument } from "../routes/openapi.ts";
import { type Schema, validate } from "./fixtures/openapi_checks.ts";
import { assertProblem, startService } from "./fixtures/files_service.ts";
import { rawRequest } from "./fixtures/upload_client.ts";

/**
 * Asserts `res` is a `status` problem whose `requestId` is its
 * `X-Request-Id` (`sent`, when the request gave one), and that the body
 * is a `Problem` of `doc`.
 */
async function assertCarriesId(
  doc: OpenApiDocument,
  res: Response,
  status: number,
  sent?: string,
): Promise<void> {
  const header = res.headers.get("x-request-id");
  const body = await assertProblem(res, status);
  assert.ok(header, "X-Request-Id");
  if (sent !== undefined) assert.equal(header, sent);
  assert.equal(body.requestId, header, JSON.stringify(body));
  const problem = { $ref: "#/components/schemas/Problem" } as Schema;
  assert.deepEqual(validate(doc, problem, body), []);
}

Deno.test("5xx problem bodies carry requestId: 501, 507, the storage's 503, /readyz's 503", async () => {
  await using service = await startService([
    "--max-upload-bytes",
    String(Number.MAX_SAFE_INTEGER),
  ]);
  const doc = await (await fetch(`${service.url}/openapi.json`))
    .json() as OpenApiDocument;
  const described = (resolveProblem(doc).properties as Record<string, Schema>)
    .requestId?.description;
  assert.match(String(described), /5xx/);

  // The router's 501: a method this service does not know.
  await assertCarriesId(
    doc,
    await fetch(`${service.url}/posts`, {
      method: "PURGE",
      headers: { "x-request-id": "sent-501" },
    }),
    501,
    "sent-501",
  );

  // 507: a Content-Length larger than the free space (nothing sent).
  const raw = await rawRequest(service.addr, {
    headers: {
      "content-length": String(2 ** 52),
      "x-request-id": "sent-507",
    },
  });
  await assertCarriesId(
    doc,
    new Response(raw.body.slice(), {
      status: raw.status,
      headers: raw.headers,
    }),
    507,
    "sent-507",
  );

  // The storage's 503: DATA_DIR a file now, where no folder can be made.
  const dataDir = service.filesDir.replace(/\/files$/, "");
  await Deno.remove(dataDir, { recursive: true });
  await Deno.writeTextFile(dataDir, "");
  try {
    await assertCarriesId(doc, await fetch(`${service.url}/files`), 503);
  } finally {
    await Deno.remove(dataDir);
    await Deno.mkdir(dataDir);
  }

  // /readyz while draining.
  service.app.beginDrain();
  await assertCarriesId(doc, await fetch(`${service.url}/readyz`), 503);
});

/** The `Problem` schema of `doc`. */
function resolveProblem(doc: OpenApiDocument): Schema {
  const components = doc.components as { schemas: Record<string, Schema> };
  return components.schemas.Problem!;
}
