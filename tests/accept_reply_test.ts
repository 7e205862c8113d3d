/**
 * The probe that reads again what Redis said, unasked, to a connection it
 * refused (`services/redis/accept_reply.ts`), against loopback listeners:
 * one that answers as Redis at `maxclients` does, one that says nothing
 * (a Redis that accepted the connection), and a `rediss://` URL it does
 * not probe.
 *
 * @module
 */

import assert from "node:assert/strict";
import { acceptReply, isUnaskedReply } from "../services/redis/accept_reply.ts";

/** A listener on a free loopback port that writes `greeting` to each. */
function listener(greeting: string) {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of server) {
      held.push(conn);
      if (greeting) {
        await conn.write(new TextEncoder().encode(greeting));
        conn.close();
      }
    }
  })();
  return {
    url: `redis://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      server.close();
      await serving;
      for (const conn of held) {
        try {
          conn.close();
        } catch {
          // Closed after its greeting.
        }
      }
    },
  };
}

Deno.test("acceptReply reads the error Redis sends as it refuses a connection, as node-redis words it", async () => {
  await using full = listener("-ERR max number of clients reached\r\n");
  const reply = await acceptReply(full.url);
  assert.equal(reply?.message, "ERR max number of clients reached");
});

Deno.test("acceptReply gives undefined when nothing comes within timeoutMs, for rediss://, and when refused", async () => {
  await using silent = listener("");
  assert.equal(await acceptReply(silent.url, { timeoutMs: 100 }), undefined);
  assert.equal(await acceptReply("rediss://127.0.0.1:1"), undefined);
  assert.equal(await acceptReply("redis://127.0.0.1:1"), undefined);
  await assert.rejects(
    () => acceptReply(silent.url, { timeoutMs: 0 }),
    RangeError,
  );
});

Deno.test("isUnaskedReply: node-redis's TypeError for a reply no command waited for, nothing else", () => {
  assert.ok(
    isUnaskedReply(
      new TypeError("Cannot read properties of undefined (reading 'reject')"),
    ),
  );
  assert.ok(!isUnaskedReply(new Error("Socket closed unexpectedly")));
  assert.ok(!isUnaskedReply(new TypeError("x is not a function")));
});
