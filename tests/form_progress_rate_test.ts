/**
 * The live progress of a `multipart/form-data` upload (`GET
 * /uploads/events`) gives the rate of the body as it arrives, the form's
 * fields and framing included, as the rate floor counts it
 * (services/uploads/reader.ts `BodyProgress`). It counted the file part's
 * bytes only: a form sending a large field first showed `0 B/s` for as
 * long as the field took, however fast it came.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { serveTempApp } from "./fixtures/served_app.ts";
import { nextEvent, serverSentEvents } from "./fixtures/sse.ts";

const KiB = 1024;
const ID = "0192a1b2c3d4e5f60718293a4b5c6d7f";
const encoder = new TextEncoder();

/**
 * A form: one large field sent in `pieces` of 16 KiB every `everyMs`,
 * then, once `release` is called, its file part and end.
 */
function fieldFirstForm(pieces: number, everyMs: number, file: Uint8Array) {
  const gate = Promise.withResolvers<void>();
  const sent = { fieldPieces: 0 };
  const head = encoder.encode(
    '--B\r\ncontent-disposition: form-data; name="note"\r\n\r\n',
  );
  const tail = [
    encoder.encode(
      '\r\n--B\r\ncontent-disposition: form-data; name="file"; ' +
        'filename="a.bin"\r\n\r\n',
    ),
    file,
    encoder.encode("\r\n--B--\r\n"),
  ];
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent.fieldPieces === 0) controller.enqueue(head);
      if (sent.fieldPieces < pieces) {
        if (sent.fieldPieces > 0) await delay(everyMs);
        controller.enqueue(new Uint8Array(16 * KiB).fill(0x76));
        sent.fieldPieces++;
        return;
      }
      await gate.promise;
      for (const part of tail) controller.enqueue(part);
      controller.close();
    },
    cancel: () => gate.resolve(),
  }, { highWaterMark: 0 });
  return { stream, sent, release: () => gate.resolve() };
}

Deno.test("a form's progress counts its fields' bytes in the rate before its file part begins", async () => {
  await using served = await serveTempApp();
  const events = serverSentEvents(
    (await fetch(`${served.url}/uploads/events?id=${ID}`)).body!,
  )[Symbol.asyncIterator]();
  const file = crypto.getRandomValues(new Uint8Array(32 * KiB));
  // 16 KiB every 50 ms (~320 KiB/s) for about 1.5 s: six progress ticks.
  const pieces = 30;
  const form = fieldFirstForm(pieces, 50, file);
  const upload = fetch(`${served.url}/files`, {
    method: "POST",
    headers: {
      "content-type": "multipart/form-data; boundary=B",
      "upload-id": ID,
    },
    body: form.stream,
  });
  const seen: { event: string; data: string }[] = [];
  const figures = (e: { data: string }) => JSON.parse(e.data);
  try {
    // A tick that shows a rate, or the field all sent and two ticks after
    // (the field's bytes are then a second or more behind: its rate was
    // the only one to show).
    let after = 0;
    const shown = await nextEvent(events, (e) => {
      if (e.event !== "progress") return false;
      if (figures(e).bytesPerSecond > 0) return true;
      if (form.sent.fieldPieces === pieces) after++;
      return after > 2;
    }, seen);
    const ticks = seen.filter((e) => e.event === "progress").map(figures);
    assert.ok(
      figures(shown).bytesPerSecond > 0,
      `rates while the field came: ${
        ticks.map((t) => t.bytesPerSecond).join(",")
      }`,
    );
    // The file part has not begun: what the rate shows is the field's.
    assert.equal(figures(shown).bytesReceived, 0);
  } finally {
    form.release();
  }
  const res = await upload;
  const created = await res.json();
  assert.equal(res.status, 201, JSON.stringify(created));
  assert.equal(created.size, file.byteLength);
  await nextEvent(events, (e) => e.event === "done", seen);
  assert.equal((await events.next()).done, true);
});
