/**
 * One connection to Redis (a node-redis client) that is checked for life. A
 * path that goes silent (a NAT or firewall that forgot the flow, a host gone
 * without a reset) sends neither FIN nor RST: the socket stays open, node-
 * redis believes it is connected, and a subscriber hears nothing. So every
 * `pingIntervalMs` a PING goes out; one not answered within `timeoutMs`
 * makes the connection's life unknown (`live` is false, `unsure` fires,
 * `sure` once the answer comes); one still unanswered at the second tick
 * after it was sent (or a handshake not finished by then) means the path is
 * dead: the client is destroyed and a new one opened, subscribed to the same
 * channels (`dead` fires). Two ticks, not one: a PONG that arrived while the
 * event loop was blocked is read before the next tick. A connection is usable
 * only once a PING of it is answered, and stops being usable while its PINGs
 * (or, told by {@linkcode RedisConnection.refused}, its commands) are
 * refused: see {@linkcode RedisConnection.refused}.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { isRefusal } from "./redis_health.ts";
import { IDLE_TIMEOUT_ASKED, pingPeriodFor } from "./idle_timeout.ts";
import { AcceptReplies, isUnaskedReply } from "./accept_reply.ts";
import {
  destroyQuietly,
  makeClient,
  type RedisCommands,
} from "./redis_client.ts";

export type { RedisCommands } from "./redis_client.ts";

/** What a {@linkcode RedisConnection} reports. */
export interface ConnectionEvents {
  /** Connected (and subscribed to every channel): usable from now. */
  ready(): void;
  /** A failure or a close: messages published meanwhile may be lost. */
  lost(error: Error): void;
  /** A PING is late: whether the connection lives is unknown. */
  unsure(): void;
  /** The late PING was answered: nothing was lost on the way. */
  sure(): void;
  /**
   * Found silent while connected (a PING unanswered) and replaced by a new
   * connection; `lost` fires too. A handshake that hangs fires only `lost`:
   * nothing was heard on that connection yet.
   */
  dead(error: Error): void;
  /**
   * A command the connection sends of itself (`CONFIG GET timeout`) was
   * refused: the ACL, or `rename-command`.
   */
  denied(error: Error): void;
}

/** Options of {@linkcode RedisConnection}. */
export interface RedisConnectionOptions {
  /** `redis://…`. */
  url: string;
  /** Longest wait for the TCP connection, ms (node-redis). */
  connectTimeoutMs: number;
  /** Pause before reconnection attempt `retries`, or an Error to stop. */
  backoff: (retries: number) => number | Error;
  /** Period of the PINGs, ms. */
  pingIntervalMs: number;
  /** A PING unanswered this long makes the life unknown, ms. */
  timeoutMs: number;
  /** Receives the changes. */
  events: ConnectionEvents;
  /**
   * The connection whose `CONFIG GET timeout` answers pace this one's
   * PINGs; unset, this one asks. A subscriber is paced by the command
   * connection: once subscribed, Redis refuses it CONFIG (RESP2 allows
   * only (P|S)SUBSCRIBE, UNSUBSCRIBE, PING, QUIT and RESET then).
   */
  pacedBy?: RedisConnection | undefined;
}

/** One client, replaced when its path is found silent. */
export class RedisConnection {
  readonly #options: RedisConnectionOptions;
  readonly #channels = new Map<string, (message: Buffer | string) => void>();
  /** Channels whose SUBSCRIBE failed on the client now: see `#ready`. */
  readonly #unsubscribed = new Set<string>();
  /** A SUBSCRIBE of `#unsubscribed` is on its way. */
  #resubscribing = false;
  #client: RedisCommands;
  #retire: () => void = () => {};
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pinging = false;
  #late = false;
  #suspect = false;
  #handshaking = false;
  #deaths = 0;
  #closed = false;
  /** A PING of `#client` was answered, and none refused since. */
  #accepted = false;
  /** The PINGs' period: `pingIntervalMs`, or less (see `#fitIdleTimeout`). */
  #pingMs: number;
  /** Connections paced by this one's answers (`pacedBy`). */
  readonly #paced = new Set<RedisConnection>();
  readonly #acceptReplies: AcceptReplies;

  constructor(options: RedisConnectionOptions) {
    this.#options = options;
    this.#acceptReplies = new AcceptReplies(options.url);
    const { pacedBy } = options;
    this.#pingMs = pacedBy ? pacedBy.#pingMs : options.pingIntervalMs;
    if (pacedBy) pacedBy.#paced.add(this);
    this.#client = this.#open();
    this.#timer = setTimeout(() => this.#tick(), options.pingIntervalMs);
  }

  /** The PINGs' period now, ms. */
  get pingIntervalMs(): number {
    return this.#pingMs;
  }

  /** The client now (another one after the path was found dead). */
  get client(): RedisCommands {
    return this.#client;
  }

  /**
   * Connected, as node-redis sees it, and subscribed to every channel: a
   * connection whose SUBSCRIBE was refused answers, but hears nothing.
   */
  get ready(): boolean {
    return this.#client.isReady && this.#accepted &&
      this.#unsubscribed.size === 0;
  }

  /**
   * Redis refused a command of the client now (`NOAUTH`, `WRONGPASS`,
   * `NOPERM`): not usable until a PING is answered again. With
   * `requirepass` set and no password in the URL (or the password rotated
   * and the connection opened again) the handshake passes, node-redis says
   * ready, and every command is refused; before, the PINGs' refusals were
   * ignored, so `cache_redis_up` said 1, the log was silent and each
   * request paid a refused command.
   */
  refused(error: Error): void {
    if (this.#closed || !isRefusal(error)) return;
    this.#accepted = false;
    this.#options.events.lost(error);
  }

  /** Connections found silent and replaced so far. */
  get deaths(): number {
    return this.#deaths;
  }

  /** Subscribes to `channel`, again on each new client. */
  subscribe(
    channel: string,
    listener: (message: Buffer | string) => void,
  ): void {
    this.#channels.set(channel, listener);
    this.#subscribeOn(this.#client, channel, listener);
  }

  /** Resolves once nothing started by this connection runs any more. */
  settled(): Promise<void> {
    return this.#acceptReplies.settled();
  }

  /** Stops the PINGs and closes the client for good. */
  close(): void {
    this.#closed = true;
    const { pacedBy } = this.#options;
    if (pacedBy) pacedBy.#paced.delete(this);
    clearTimeout(this.#timer);
    this.#retire();
  }

  #subscribeOn(
    client: RedisCommands,
    channel: string,
    listener: (message: Buffer | string) => void,
  ): void {
    client.subscribe(channel, listener).catch((error: Error) => {
      if (this.#owns(client)) {
        this.#unsubscribed.add(channel);
        this.#options.events.lost(error);
      }
    });
  }

  /** A new client, connecting in the background, its events wired. */
  #open(): RedisCommands {
    const { url, connectTimeoutMs, backoff, events } = this.#options;
    let retired = false;
    // A replaced client must not reconnect by itself.
    const client = makeClient(
      url,
      connectTimeoutMs,
      (retries) => retired ? new Error("replaced") : backoff(retries),
    );
    // Without an error listener node-redis would end the process.
    client.on("error", (error: Error) => {
      if (!this.#owns(client)) return;
      this.#handshaking = false;
      if (!isUnaskedReply(error)) return events.lost(error);
      this.#acceptReplies.read(error, (reply) => {
        if (this.#owns(client) && !client.isReady) events.lost(reply);
      });
    });
    client.on("end", () => {
      if (this.#owns(client)) events.lost(new Error("connection closed"));
    });
    client.on("connect", () => {
      if (this.#owns(client)) this.#handshaking = true;
    });
    client.on("ready", () => {
      if (!this.#owns(client)) return destroyQuietly(client);
      this.#handshaking =
        this.#pinging =
        this.#late =
        this.#suspect =
        this.#accepted =
          false;
      if (!this.#options.pacedBy) this.#fitIdleTimeout(client);
      this.#confirm(client);
    });
    client.connect().catch((error: Error) => {
      if (this.#owns(client)) events.lost(error);
    });
    this.#unsubscribed.clear();
    this.#accepted = false;
    for (const [channel, listener] of this.#channels) {
      this.#subscribeOn(client, channel, listener);
    }
    this.#retire = () => {
      retired = true;
      destroyQuietly(client);
    };
    return client;
  }

  /**
   * Connected: usable once a PING is answered (refused, it is sent again at
   * each period by `#ping`).
   */
  #confirm(client: RedisCommands): void {
    client.ping().then(() => {
      if (!this.#owns(client) || this.#accepted) return;
      this.#accepted = true;
      this.#ready(client);
    }, (error: Error) => {
      // Any other failure is reported by the error event.
      if (this.#owns(client)) this.refused(error);
    });
  }

  /**
   * Connected: usable once every channel is subscribed. node-redis
   * subscribes again on a reconnection only the channels whose SUBSCRIBE
   * went through, so one that failed (sent while the first connection
   * attempt timed out behind this process's own start-up work) is sent
   * again here; before, the connection said it was ready while subscribed
   * to nothing, and the instance heard no drops, ever.
   */
  #ready(client: RedisCommands): void {
    if (this.#unsubscribed.size === 0) return this.#options.events.ready();
    this.#resubscribe(client);
  }

  /**
   * Sends the SUBSCRIBEs that failed on `client` again: at its "ready", and
   * at each PING period while they are refused on a connection that stays
   * open (`NOPERM`: the ACL user without channels; `NOAUTH`: a password
   * required since). Before, nothing sent them again after such a refusal:
   * once the ACL or the password was put right, the instance stayed
   * subscribed to nothing until restarted, and said it was up.
   */
  #resubscribe(client: RedisCommands): void {
    if (this.#resubscribing) return;
    this.#resubscribing = true;
    const again = [...this.#unsubscribed];
    Promise.all(
      again.map((channel) =>
        client.subscribe(channel, this.#channels.get(channel)!)
      ),
    ).then(() => {
      if (!this.#owns(client)) return;
      for (const channel of again) this.#unsubscribed.delete(channel);
      if (this.ready) this.#options.events.ready();
    }, (error: Error) => {
      if (this.#owns(client)) this.#options.events.lost(error);
    }).finally(() => {
      this.#resubscribing = false;
    });
  }

  /**
   * Asks Redis's idle `timeout` on each connection and fits the PINGs'
   * period to it (`idle_timeout.ts`), this one's and those it paces; a
   * refusal is told (`events.denied`).
   */
  #fitIdleTimeout(client: RedisCommands): void {
    client.sendCommand(IDLE_TIMEOUT_ASKED).then((reply) => {
      const fitted = pingPeriodFor(reply, this.#options.pingIntervalMs);
      if (!this.#owns(client) || fitted === undefined) return;
      this.#pace(fitted);
      for (const paced of this.#paced) paced.#pace(fitted);
    }, (error: Error) => {
      if (this.#owns(client)) this.#options.events.denied(error);
    });
  }

  /** PINGs every `periodMs` from now on. */
  #pace(periodMs: number): void {
    if (periodMs === this.#pingMs || this.#closed) return;
    this.#pingMs = periodMs;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), this.#pingMs);
  }

  /**
   * One period: a PING when none is out; a PING or a handshake still
   * pending at a second tick is a dead path.
   */
  #tick(): void {
    const client = this.#client;
    const waiting = client.isReady ? this.#pinging : this.#handshaking;
    if (!waiting) {
      this.#suspect = false;
      if (client.isReady) this.#ping(client);
      if (client.isReady && this.#unsubscribed.size > 0) {
        this.#resubscribe(client);
      }
    } else if (!this.#suspect) {
      this.#suspect = true;
    } else {
      this.#replace(client.isReady ? "PING" : "handshake");
    }
    this.#timer = setTimeout(() => this.#tick(), this.#pingMs);
  }

  #ping(client: RedisCommands): void {
    const { timeoutMs, events } = this.#options;
    this.#pinging = true;
    const late = setTimeout(() => {
      if (client !== this.#client || !this.#pinging) return;
      this.#late = true;
      events.unsure();
    }, timeoutMs);
    client.ping().then(() => {
      if (client !== this.#client) return;
      this.#pinging = false;
      if (!this.#accepted && !this.#closed) {
        this.#accepted = true;
        this.#ready(client);
      }
      if (!this.#late) return;
      this.#late = false;
      events.sure();
    }, (error: Error) => {
      // Any other failure is reported by the error event.
      if (client !== this.#client) return;
      this.#pinging = false;
      this.refused(error);
    }).finally(() => clearTimeout(late));
  }

  /**
   * Whether `client` is this connection's client now, and the connection
   * not closed: the one test of every asynchronous outcome (an event, a
   * reply), as a replaced or closed client's must change nothing.
   */
  #owns(client: RedisCommands): boolean {
    return client === this.#client && !this.#closed;
  }

  /** The path is silent: a new client replaces this one. */
  #replace(what: "PING" | "handshake"): void {
    const error = new Error(
      `no answer to ${what} by the second PING period ` +
        `(${this.#pingMs} ms each): the connection is replaced`,
    );
    this.#deaths++;
    this.#handshaking =
      this.#pinging =
      this.#late =
      this.#suspect =
        false;
    this.#retire();
    this.#client = this.#open();
    if (what === "PING") this.#options.events.dead(error);
    this.#options.events.lost(error);
  }
}
