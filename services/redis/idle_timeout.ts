/**
 * Redis's idle `timeout` as it paces a connection's PINGs. Redis closes a
 * client idle longer than its `timeout` setting (seconds, 0 for never;
 * subscribers are exempt), and the PINGs are a command connection's only
 * traffic while the cache is quiet: with a `timeout` shorter than their
 * period (`timeout 1` and REDIS_PING_INTERVAL_MS=3000) the server closed
 * the connection between two PINGs, and it went down and up again every
 * period, logged each time, Redis skipped meanwhile. So the PINGs go at
 * least twice per `timeout`. The command connection asks it each time it
 * connects (a Redis restarted, or failed over, may have another `timeout`),
 * and the subscriber's period follows that answer (subscribed, it may not
 * ask: Redis refuses CONFIG in subscribe mode). The period follows each
 * answer, up as well as down: it only went down before, so a Redis
 * restarted with a longer `timeout` (or none) kept being PINGed at the old
 * one's pace. Where CONFIG is refused (ACLs, a managed Redis that
 * renames it) the period stays as it was, and the refusal is said: it was
 * silent, and with a short `timeout` the connection flapped unexplained.
 *
 * @module
 */

/** The command that asks it. */
export const IDLE_TIMEOUT_ASKED = ["CONFIG", "GET", "timeout"];

/**
 * The PINGs' period for a `CONFIG GET timeout` reply: `pingIntervalMs`,
 * or half the `timeout` when that is shorter; `undefined` for a reply
 * that holds no `timeout`.
 */
export function pingPeriodFor(
  reply: unknown,
  pingIntervalMs: number,
): number | undefined {
  const seconds = Number(String(configValue(reply) ?? ""));
  if (!Number.isInteger(seconds) || seconds < 0) return undefined;
  if (seconds === 0) return pingIntervalMs;
  return Math.min(pingIntervalMs, Math.max(1, Math.floor(seconds * 500)));
}

/** The value in a CONFIG GET reply of one setting (RESP2 list or RESP3 map). */
function configValue(reply: unknown): unknown {
  if (Array.isArray(reply)) return reply[1];
  if (reply instanceof Map) return [...reply.values()][0];
  if (reply !== null && typeof reply === "object") {
    return Object.values(reply)[0];
  }
  return undefined;
}
