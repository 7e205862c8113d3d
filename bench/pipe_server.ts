/**
 * The baseline for the upload benchmark: the smallest `Deno.serve` that
 * stores a request body, by piping it straight into a new file in the
 * folder given as the first argument, then answers 201 with the byte count.
 * No limit, hash, queue or commit; with `--fsync` (second argument) the
 * file is fsynced before the answer, as the service does. It logs the same
 * `listening` line as the service.
 *
 * Run: `deno run -A bench/pipe_server.ts <dir> [--fsync]`
 *
 * @module
 */

import { announceListening } from "./listening.ts";
import { join } from "node:path";

const dir = Deno.args[0];
if (!dir) throw new Error("usage: pipe_server.ts <dir> [--fsync]");
const fsync = Deno.args.includes("--fsync");
let next = 0;

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: announceListening,
}, async (req) => {
  if (req.method !== "POST" && req.method !== "PUT") {
    return new Response(null, { status: 405 });
  }
  const path = join(dir, `upload-${next++}`);
  const file = await Deno.open(path, { write: true, createNew: true });
  // pipeTo closes the file when the body ends (or aborts it on error).
  await (req.body ?? new Blob().stream()).pipeTo(file.writable, {
    preventClose: fsync,
  });
  if (fsync) {
    try {
      await file.sync();
    } finally {
      file.close();
    }
  }
  const { size } = await Deno.stat(path);
  return Response.json({ size }, { status: 201 });
});
