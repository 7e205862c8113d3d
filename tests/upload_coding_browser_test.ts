/**
 * A page that compresses a file with `CompressionStream` before uploading
 * it, in Debian's chromium against the real app on loopback, as README's
 * upload section offers. The compressed stream must be gathered into a
 * `Blob` first: chromium sends a stream as a request body (`duplex:
 * "half"`) only over HTTP/2, which it speaks only over TLS, so against an
 * `http://` service that `fetch` fails (`TypeError: Failed to fetch`,
 * `net::ERR_ALPN_NEGOTIATION_FAILED`) before anything is sent. README said
 * "a page that compresses with `CompressionStream`" and nothing of it, so
 * the natural code, the stream handed to `fetch`, failed for a reader
 * following it; the README now says how. The Blob is stored as what it
 * decodes to: size and SHA-256 of the page's bytes.
 *
 * Needs chromium at `/usr/bin/chromium` (or `CHROMIUM_PATH`) and `-A`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { withChromiumPage } from "./fixtures/chromium.ts";
import { testApp } from "./fixtures/app.ts";
import { sha256Hex } from "./fixtures/upload_client.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** What the page made and what the service answered it. */
interface PageUpload {
  /** The page's bytes before compression, as numbers (for the check). */
  sent: number[];
  /** The compressed body's length. */
  codedBytes: number;
  /** The Blob upload's status and body. */
  blob: { status: number; body: Record<string, unknown> };
  /** The stream upload: its status, or the error fetch threw. */
  stream: { status?: number; error?: string };
}

/** Runs in the page: the same text gzipped, sent as a Blob and as a stream. */
async function uploadCompressed(): Promise<PageUpload> {
  const text = "id,title,done\n".repeat(4_000) + crypto.randomUUID();
  const bytes = new TextEncoder().encode(text);
  const gzipped = () =>
    new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  const headers = {
    "content-type": "text/csv",
    "content-encoding": "gzip",
  };
  const coded = await new Response(gzipped()).blob();
  const blobAnswer = await fetch("/files", {
    method: "POST",
    body: coded,
    headers,
  });
  const blob = { status: blobAnswer.status, body: await blobAnswer.json() };
  let stream: PageUpload["stream"];
  try {
    const init = { method: "POST", body: gzipped(), headers, duplex: "half" };
    const answer = await fetch("/files", init as RequestInit);
    stream = { status: answer.status };
  } catch (error) {
    stream = { error: String(error) };
  }
  return { sent: [...bytes], codedBytes: coded.size, blob, stream };
}

Deno.test("a page's CompressionStream upload: a Blob is stored decoded; a stream body fails in chromium over http://, as README says", async () => {
  await using t = await testApp([]);
  await withChromiumPage(t.app.fetch, async (served) => {
    const { origin, page, problems } = served;
    assert.equal((await page.goto(`${origin}/upload`))?.status(), 200);
    const result = await page.evaluate(uploadCompressed);
    const sent = new Uint8Array(result.sent);
    assert.ok(result.codedBytes < sent.byteLength / 10, `${result.codedBytes}`);

    // The Blob: stored as the bytes it decodes to.
    assert.equal(result.blob.status, 201, JSON.stringify(result.blob.body));
    assert.equal(result.blob.body.size, sent.byteLength);
    assert.equal(result.blob.body.sha256, sha256Hex(sent));
    const stored = await t.get(`/files/${result.blob.body.id}`);
    assert.equal(stored.status, 200);
    assert.deepEqual(new Uint8Array(await stored.arrayBuffer()), sent);

    // The stream: refused by chromium itself, nothing sent, nothing stored.
    assert.equal(result.stream.status, undefined);
    assert.match(result.stream.error ?? "", /^TypeError: Failed to fetch/);
    const listed = await (await t.get("/files")).json();
    assert.deepEqual(
      listed.items.map((item: { id: string }) => item.id),
      [result.blob.body.id],
    );
    // The service heard of one upload only.
    const metrics = await (await t.get("/metrics")).text();
    const uploads = metrics.split("\n").filter((line) =>
      line.startsWith("uploads_total{")
    );
    assert.deepEqual(uploads, ['uploads_total{outcome="created"} 1']);
    // The page's only problems are chromium's refusal of that stream: its
    // console error and the failed request.
    assert.equal(problems.length, 2, problems.join("\n"));
    for (const problem of problems) {
      assert.match(problem, /ERR_ALPN_NEGOTIATION_FAILED/);
    }
  });
  assert.equal(t.app.board.size, 0);

  // README's upload section tells a page to gather the stream into a Blob,
  // and why.
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const paragraph =
    readme.split("\n\n").find((text) =>
      text.includes("`CompressionStream`") && text.includes("Content-Encoding")
    )?.replace(/\s+/g, " ") ?? "";
  assert.match(paragraph, /into a `Blob`/);
  assert.match(paragraph, /ERR_ALPN_NEGOTIATION_FAILED/);
});
