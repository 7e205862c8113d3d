/**
 * Commands the Redis ACL refuses the service's user while it lets the
 * connection in and answers its PINGs: a managed Redis or an operator's
 * user made with `+@read +@write` (no `+eval`, no `+publish`, no
 * `+config|get`). Each such refusal used to be one more miss, counted with
 * every other error reply and said as a generic `cache.redis_command_failed`
 * each 10 s: a user without `+eval` missed every shared read, and left
 * every single-flight lock it took for the other instances to wait out,
 * with nothing naming the command. Now each refused command is said once
 * (`cache.redis_command_denied`: the command, the ACL rule that grants
 * it, the whole rule the service needs, and what stops without it) and
 * counted by command in `cache_redis_command_denials_total`.
 *
 * @module
 */

import type { Logger } from "../ops/logger.ts";

/**
 * Every command, key and channel pattern the service sends as its ACL
 * user: `ACL SETUSER <user> on ><password> resetchannels` then these
 * (and `+select` with a `/db` in `REDIS_URL`: sent at each connection's
 * handshake, a refusal fails it).
 */
export const ACL_NEEDED = "+ping +config|get +get +set +del +exists +scan " +
  "+pttl +pexpire +eval +publish +subscribe ~async-api:* &async-api:*";

/** What stops while a command is refused, by command (lower case). */
const STOPS: Readonly<Record<string, string>> = {
  eval: "every read of the shared tier (each is a miss), renewals after a " +
    "304, and the cross-instance single-flight (no lock is taken while its " +
    "release is refused: each instance loads its own misses)",
  script: "what that script does (the shared tier's reads or renewals, or " +
    "the single-flight's lock release: then no lock is taken)",
  set: "writes to the shared tier (other instances load their own), the " +
    "single-flight's locks, and upload endings shared with other instances",
  get: "upload endings read from other instances",
  del: "invalidations reaching Redis (each stays pending and is tried " +
    "again every second)",
  scan: "invalidations reaching Redis (each stays pending and is tried " +
    "again every second)",
  exists: "the single-flight waiters' check that a lock's owner still " +
    "lives (they wait out the whole lock instead)",
  publish: "invalidations and upload events reaching other instances",
  config: "fitting the PINGs to Redis's idle timeout: set " +
    "REDIS_PING_INTERVAL_MS below half of it, or the connections are " +
    "closed and opened again each period",
  "config|get": "fitting the PINGs to Redis's idle timeout: set " +
    "REDIS_PING_INTERVAL_MS below half of it, or the connections are " +
    "closed and opened again each period",
  keys: "commands on keys outside the user's key patterns",
  channels: "publishing on channels outside the user's channel patterns",
};

/**
 * The command (lower case, `config|get` for a subcommand) the ACL refused
 * in `error`, `keys` or `channels` for a pattern refused, `script` for a
 * command inside a script (Redis 7.0 does not name it there), or a
 * command Redis does not know (renamed or disabled by `rename-command`);
 * `undefined` for any other error.
 */
export function deniedCommand(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { message } = error;
  const named = /no permissions to run the '([^']+)' command/.exec(message);
  if (named?.[1]) return named[1].toLowerCase();
  const unknown = /^ERR unknown command '([^']+)'/.exec(message);
  if (unknown?.[1]) return unknown[1].toLowerCase();
  if (/^ERR The user executing the script can't/.test(message)) {
    return "script";
  }
  if (!message.startsWith("NOPERM")) return undefined;
  if (/one of the keys/.test(message)) return "keys";
  if (/one of the channels/.test(message)) return "channels";
  return "unknown";
}

/** The ACL rule that grants `command`, refused with `message`. */
function aclRule(command: string, message: string): string {
  if (message.startsWith("ERR unknown command")) {
    return "none grants it: Redis renamed or disabled it (rename-command)";
  }
  if (command === "keys") return "~async-api:*";
  if (command === "channels") return "&async-api:*";
  return command in STOPS && command !== "script" ? `+${command}` : ACL_NEEDED;
}

/** Options of {@linkcode RedisDenials}. */
export interface RedisDenialsOptions {
  /** Where each refused command is said. */
  logger: Logger;
  /** The Redis URL as logged (no password). */
  url: string;
}

/** The commands refused so far, counted, each said once. */
export class RedisDenials {
  readonly #logger: Logger;
  readonly #url: string;
  readonly #counts = new Map<string, number>();

  constructor(options: RedisDenialsOptions) {
    this.#logger = options.logger;
    this.#url = options.url;
  }

  /** Refusals so far, by command (see {@linkcode deniedCommand}). */
  get counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  /**
   * Counts `error` when it is an ACL refusal (the first of its command
   * said); whether it was one.
   */
  record(error: unknown): boolean {
    const command = deniedCommand(error);
    if (command === undefined) return false;
    const count = (this.#counts.get(command) ?? 0) + 1;
    this.#counts.set(command, count);
    if (count > 1) return true;
    const { message } = error as Error;
    this.#logger.warn("cache.redis_command_denied", {
      url: this.#url,
      command,
      error: message,
      acl: aclRule(command, message),
      needs: ACL_NEEDED,
      stops: STOPS[command] ?? "see the README (Redis ACL)",
      detail: "the Redis ACL refuses this command to the service's user; " +
        "said once per command, each refusal counted in " +
        "cache_redis_command_denials_total{command}",
    });
    return true;
  }
}
