/**
 * One node-redis client as the service configures it: no offline queue, no
 * `CLIENT SETINFO`, binary replies as `Buffer`s. {@linkcode RedisConnection}
 * (`redis_connection.ts`) owns each one and checks it for life.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createClient, RESP_TYPES } from "redis";

function configuredClient(
  url: string,
  connectTimeoutMs: number,
  backoff: (retries: number) => number | Error,
) {
  return createClient({
    url,
    // A command issued while disconnected fails at once instead of
    // waiting in a queue: the caller goes to the upstream meanwhile.
    disableOfflineQueue: true,
    // No `CLIENT SETINFO`: Redis before 7.2, an ACL or a renamed CLIENT
    // answer it ERR (counted in `errorstat_ERR`), and, ignored, it took
    // the refusal at `maxclients` without a password (`accept_reply.ts`).
    disableClientInfo: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: backoff,
    },
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/** The command client, its replies' binary strings mapped to `Buffer`s. */
export type RedisCommands = ReturnType<typeof configuredClient>;

/** A client of `url`, connecting when told, reconnecting by `backoff`. */
export function makeClient(
  url: string,
  connectTimeoutMs: number,
  backoff: (retries: number) => number | Error,
): RedisCommands {
  return configuredClient(url, connectTimeoutMs, backoff);
}

/**
 * destroy(), not close(): it also stops a reconnection in progress (and its
 * timer), where the socket is not open.
 */
export function destroyQuietly(client: RedisCommands): void {
  try {
    client.destroy();
  } catch {
    // Never connected, or destroyed already.
  }
}
