/**
 * `deno task upstream`, README's way to run the real JSONPlaceholder
 * locally, listens on loopback only, as README's `http://127.0.0.1:3000`
 * says: the package's own index.js listened on every interface, putting a
 * json-server in reach of the whole network. Run here on a free port in
 * place of 3000, in a process group of its own (setsid) that the test ends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "./fixtures/free_port.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** This machine's first IPv4 address that is not loopback. */
function outsideAddress(): string {
  const found = Deno.networkInterfaces().find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.")
  );
  assert.ok(found, "an IPv4 interface besides loopback");
  return found.address;
}

Deno.test("deno task upstream answers on 127.0.0.1 and not on another interface", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const command: string = config.tasks.upstream.command;
  assert.ok(command.includes("3000"), command);
  const port = String(freePort());
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "--eval", command.replaceAll("3000", port)],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // Read all it says to the end: a pipe closed early made json-server's
  // request log line kill it (EPIPE), and a refusal would prove nothing.
  const listening = Promise.withResolvers<void>();
  const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(text) {
        if (text.includes("listening")) listening.resolve();
      },
    }),
  );
  void reading.finally(() =>
    listening.reject(new Error("ended, never listened"))
  );
  try {
    await listening.promise;
    const res = await fetch(`http://127.0.0.1:${port}/posts/1`);
    assert.equal((await res.json()).id, 1);
    await assert.rejects(
      fetch(`http://${outsideAddress()}:${port}/posts/1`),
      TypeError,
    );
    // Still up: the refusal above was the address, not a dead server.
    const again = await fetch(`http://127.0.0.1:${port}/posts/2`);
    assert.equal((await again.json()).id, 2);
  } finally {
    Deno.kill(-child.pid, "SIGTERM");
    await child.status;
    await reading;
  }
});
