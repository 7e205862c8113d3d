/**
 * The client address behind trusted proxies (`TRUSTED_PROXIES`). Every
 * per-client limit (the upstream share, uploads and watchers per client)
 * counts by one address; behind nginx the peer is always nginx, so without
 * this every client shared one count. When the peer is a trusted proxy,
 * the client is the rightmost `X-Forwarded-For` hop that is not itself
 * trusted: a proxy that appends (nginx's `$proxy_add_x_forwarded_for`)
 * keeps what the client sent on the left, so anything a client makes up
 * stands left of the hop the trusted proxy added and is never reached.
 * A peer that is not trusted is the client, whatever it sends.
 *
 * The list and the walk are npm `proxy-addr` (Express's): addresses and
 * CIDRs, IPv4 and IPv6, and its names `loopback`, `linklocal`,
 * `uniquelocal`.
 *
 * An IPv6 client counts as its /64 ({@linkcode clientKey}): one host is
 * given a whole /64 and may send from any address in it, so counted by
 * address it had 2^64 shares of every per-client cap.
 *
 * ```ts
 * import { TrustedProxies } from "./trusted_proxies.ts";
 *
 * const proxies = new TrustedProxies(["127.0.0.1"]);
 * const headers = new Headers({ "x-forwarded-for": "198.51.100.7" });
 * proxies.clientOf("127.0.0.1", headers); // "198.51.100.7"
 * proxies.clientOf("192.0.2.9", headers); // "192.0.2.9"
 * ```
 *
 * @module
 */

import ipaddr from "ipaddr.js";
import proxyaddr from "proxy-addr";

/** Says whether `address` (hop `index` from the peer) is a trusted proxy. */
type Trust = (address: string, index: number) => boolean;

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** An IPv4 address mapped into IPv6 as IPv4, so both count as one client. */
export function plainAddress(address: string): string {
  return address.replace(MAPPED_IPV4, "$1");
}

/**
 * What a per-client limit counts `address` as: an IPv4 address as it is
 * (mapped into IPv6 too, {@linkcode plainAddress}), an IPv6 address as its
 * /64 (`2001:db8:1:2::/64`), the smallest network one host is given (RFC
 * 6177, a LAN's SLAAC prefix): a client behind one /64 sent each upload
 * from another of its addresses and no cap held it (express-rate-limit 8
 * groups by /56 for the same reason). Anything else as it is.
 */
export function clientKey(address: string): string {
  const plain = plainAddress(address);
  // IPv4, the common case, without a parse.
  if (!plain.includes(":") || !ipaddr.IPv6.isValid(plain)) return plain;
  const parts = ipaddr.IPv6.parse(plain).parts.slice(0, 4);
  return `${parts.map((part) => part.toString(16)).join(":")}::/64`;
}

/**
 * The entries of a comma-separated `TRUSTED_PROXIES` list, trimmed, empty
 * ones dropped. Throws a `TypeError` naming the first entry `proxy-addr`
 * cannot take (not an address, a CIDR or one of its names).
 */
export function trustedProxyList(raw: string): string[] {
  const list = raw.split(",").map((entry) => entry.trim()).filter(Boolean);
  for (const entry of list) {
    try {
      proxyaddr.compile(entry);
    } catch {
      throw new TypeError(`not an address, CIDR or range name: ${entry}`);
    }
  }
  return list;
}

/** The trusted proxies, and the client address a request comes from. */
export class TrustedProxies {
  /** The list as given (for the `listening` line). */
  readonly list: readonly string[];
  readonly #trust: Trust | undefined;

  /** `list` as {@linkcode trustedProxyList} gives it; empty trusts none. */
  constructor(list: readonly string[] = []) {
    this.list = list;
    this.#trust = list.length === 0 ? undefined : proxyaddr.compile([...list]);
  }

  /**
   * The client of a request from `peer` with `headers`: `peer` itself
   * unless it is trusted, else the rightmost untrusted `X-Forwarded-For`
   * hop (the leftmost hop when all are trusted). `undefined` when the peer
   * is unknown (a Unix socket).
   */
  clientOf(peer: string | undefined, headers: Headers): string | undefined {
    if (peer === undefined || this.#trust === undefined) return peer;
    const forwardedFor = headers.get("x-forwarded-for");
    if (forwardedFor === null) return peer;
    const request = {
      connection: { remoteAddress: peer },
      headers: { "x-forwarded-for": forwardedFor },
    };
    return plainAddress(proxyaddr(request, this.#trust));
  }
}
