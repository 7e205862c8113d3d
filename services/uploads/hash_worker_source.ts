/**
 * The program of the upload hash worker (`HashWorker` in hashing.ts), as
 * the source text a `node:worker_threads` Worker runs with `eval: true`
 * (so `deno compile` and `deno bundle` outputs carry it as it is).
 *
 * One node:crypto hash per upload id; each batch of buffers is hashed and
 * sent back (transferred), a digest on request. An error is sent to the
 * main thread, which ends the worker and logs it as one JSON line: left
 * uncaught, the runtime printed it on stderr as a dozen lines of text,
 * beside that line. The worker takes no message after it, as it would
 * not after a death. The shapes of its messages are here too.
 *
 * @module
 */

/** A batch's buffers sent back, or an upload's digest. */
export interface Reply {
  id: number;
  buffers?: ArrayBuffer[];
  digest?: Uint8Array;
}

/** The worker's last message: the error it failed with. */
export interface Fatal {
  fatal: { name: string; message: string; stack?: string };
}

/** The error a worker's `fatal` message describes. */
export function errorOf({ fatal }: Fatal): Error {
  const error = new Error(fatal.message);
  error.name = fatal.name;
  if (fatal.stack !== undefined) error.stack = fatal.stack;
  return error;
}

/** The worker's source text. */
export const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
let failed = false;
function take({ id, buffers, lengths, end }) {
  let hash = hashes.get(id);
  if (hash === undefined) hashes.set(id, hash = createHash("sha256"));
  if (buffers !== undefined) {
    buffers.forEach((buffer, i) =>
      hash.update(new Uint8Array(buffer, 0, lengths[i]))
    );
    parentPort.postMessage({ id, buffers }, buffers);
  }
  if (end !== undefined) {
    hashes.delete(id);
    if (end === "digest") parentPort.postMessage({ id, digest: hash.digest() });
  }
}
parentPort.on("message", (message) => {
  if (failed) return;
  try {
    take(message);
  } catch (error) {
    failed = true;
    const { name = "Error", message = String(error), stack } = error ?? {};
    parentPort.postMessage({ fatal: { name, message, stack } });
  }
});
`;
