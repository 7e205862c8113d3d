/**
 * What Redis says, unasked, to a connection it refuses as it accepts it:
 * `-ERR max number of clients reached` at its `maxclients` (or `-DENIED`
 * in protected mode), then it closes the connection. node-redis reads that
 * reply as the answer to the first command of its handshake; with none (no
 * password in `REDIS_URL`, no `CLIENT SETINFO`) its queue is empty, and it
 * fails with a `TypeError` ("Cannot read properties of undefined (reading
 * 'reject')") that names nothing, the reply lost. So when that happens the
 * reply is read again on a plain connection of our own that sends nothing,
 * and said in its place.
 *
 * @module
 */

/**
 * Whether `error` is node-redis reading a reply no command of its waited
 * for (its queue of waiting commands empty).
 */
export function isUnaskedReply(error: Error): boolean {
  return error instanceof TypeError &&
    /reading '(reject|resolve)'/.test(error.message);
}

/** Options of {@linkcode acceptReply}. */
export interface AcceptReplyOptions {
  /** Longest wait for the connection and its first line, ms. */
  timeoutMs?: number;
}

/**
 * The error line Redis at `url` sends before any command, as an `Error`
 * whose message is the reply (as node-redis words its error replies);
 * `undefined` when none comes within `timeoutMs`, the connection fails, or
 * `url` is `rediss://` (the TLS options of the link are node-redis's own:
 * this plain probe cannot repeat them).
 */
export async function acceptReply(
  url: string,
  options: AcceptReplyOptions = {},
): Promise<Error | undefined> {
  const { timeoutMs = 500 } = options;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError("timeoutMs must be a positive integer");
  }
  const parsed = new URL(url);
  if (parsed.protocol !== "redis:") return undefined;
  const signal = AbortSignal.timeout(timeoutMs);
  let conn: Deno.TcpConn | undefined;
  // The signal bounds the connect only: a Redis that accepted the
  // connection says nothing, and the read is ended by closing it.
  const stop = () => conn?.close();
  signal.addEventListener("abort", stop);
  try {
    conn = await Deno.connect({
      hostname: parsed.hostname.replace(/^\[|\]$/g, ""),
      port: Number(parsed.port || 6379),
      signal,
    });
    const line = await firstLine(conn);
    return line?.startsWith("-") ? new Error(line.slice(1)) : undefined;
  } catch {
    return undefined; // Refused, reset, or closed at the timeout.
  } finally {
    signal.removeEventListener("abort", stop);
    try {
      conn?.close();
    } catch {
      // Closed at the timeout already.
    }
  }
}

/** The first line `conn` reads (without its CRLF), or what came before EOF. */
async function firstLine(conn: Deno.Conn): Promise<string | undefined> {
  const buffer = new Uint8Array(512);
  let text = "";
  while (!text.includes("\r\n") && text.length < buffer.length) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text === "" ? undefined : text.split("\r\n")[0];
}

/**
 * The probes of one connection ({@linkcode acceptReply}), kept until they
 * end so that closing the connection can wait for them.
 */
export class AcceptReplies {
  readonly #url: string;
  readonly #pending = new Set<Promise<void>>();

  constructor(url: string) {
    this.#url = url;
  }

  /**
   * Reads again the reply node-redis lost with `error`, and calls `say`
   * with it (with `error` when none is read).
   */
  read(error: Error, say: (reply: Error) => void): void {
    const probe = acceptReply(this.#url).then((reply) => say(reply ?? error));
    this.#pending.add(probe);
    probe.finally(() => this.#pending.delete(probe));
  }

  /** Resolves once every probe started so far has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
