/**
 * The HTTP/2 connections each client address holds, and all of them, for
 * `MAX_HTTP2_CONNECTIONS_PER_CLIENT` and `MAX_HTTP2_CONNECTIONS`.
 *
 * The runtime takes 200 streams on every h2c connection and holds each
 * one (~6 KB of native memory: the stream, its request, its answer) until
 * the client has read its answer; a client holding its flow-control
 * window at 0 reads nothing, and nothing the runtime tells the handler
 * shows it (an answer from memory is "completed" once handed over). Deno
 * has no setting for the streams, and the handler never sees the
 * window. `h2load -c 800 -m 200 -w 0` from one address took the process
 * from ~100 MB to 1 GB and held other clients' requests for 16-23 s
 * while the 160,000 requests were handled. What this layer can bound is
 * the connections: past the cap, a new HTTP/2 connection from that
 * address is closed at its first request, before its other streams are
 * handled. Ordinary h2c clients (no browser speaks h2c) hold one
 * connection, or a pool of a few; HTTP/1.1 connections are not counted.
 *
 * HTTP/2 is told as services/http/http2_request.ts says: an HTTP/1.0
 * request without `Host` counts as HTTP/2, which matters only for a client
 * holding more than the cap of such connections at once.
 *
 * @module
 */

import { cameOverHttp2 } from "../http/http2_request.ts";
import { servedHeaders } from "../http/served_headers.ts";
import { checkWholeNumbers } from "../ops/whole_numbers.ts";

/** Options of {@linkcode Http2Clients}. */
export interface Http2ClientsOptions {
  /** Most HTTP/2 connections of one address at once (0: no cap). */
  perClient: number;
  /** Most HTTP/2 connections of all addresses at once (0: no cap). */
  total: number;
}

/** The HTTP/2 connections per client address and in all, and their caps. */
export class Http2Clients {
  readonly #perClient: number;
  readonly #total: number;
  /** Addresses holding one or more HTTP/2 connections, and how many. */
  readonly #counts = new Map<string, number>();
  /** HTTP/2 connections counted, of all addresses. */
  #held = 0;

  constructor(options: Http2ClientsOptions) {
    const { perClient, total } = options;
    checkWholeNumbers({
      maxHttp2ConnectionsPerClient: perClient,
      maxHttp2Connections: total,
    }, { min: 0 });
    this.#perClient = perClient;
    this.#total = total;
  }

  /**
   * Sorts a connection by its first request `req`, from `client`: not
   * HTTP/2 (`"http1"`), HTTP/2 and counted for `client` until
   * {@linkcode Http2Clients.release} (`"counted"`), or HTTP/2 over the
   * address's cap (`"over"`) or the cap of all (`"full"`), not counted.
   * The cap of all bounds what many addresses hold (32 addresses of 16
   * zero-window connections each took the process from 100 MB to 1.25 GB
   * and held other clients' requests 10 s and more).
   */
  admit(req: Request, client: string): "http1" | "counted" | "over" | "full" {
    // By name: making `req.headers` would send the first answer of every
    // connection the runtime's slow way (services/http/served_headers.ts).
    if (!cameOverHttp2(servedHeaders(req))) return "http1";
    if (this.#perClient === 0 && this.#total === 0) return "http1";
    const held = this.#counts.get(client) ?? 0;
    if (this.#perClient !== 0 && held >= this.#perClient) return "over";
    if (this.#total !== 0 && this.#held >= this.#total) return "full";
    this.#counts.set(client, held + 1);
    this.#held++;
    return "counted";
  }

  /** A connection `admit` counted for `client` has closed. */
  release(client: string): void {
    const held = this.#counts.get(client);
    if (held === undefined) return;
    this.#held--;
    if (held <= 1) this.#counts.delete(client);
    else this.#counts.set(client, held - 1);
  }
}
