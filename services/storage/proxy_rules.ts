/**
 * Which proxy a request to a URL goes through, read from the environment
 * as Deno 2.9's fetch reads it (deno_fetch's `proxy.rs`, checked against
 * Deno 2.9.6's fetch through a recording proxy, `tests/proxy_rules_test.ts`),
 * so that the PUTs of bytes written on a connection of their own
 * (`s3_put_bytes.ts`) go the way the store's other calls, over fetch, go:
 *
 * - `ALL_PROXY` (any scheme), then `HTTPS_PROXY` (`https://` URLs), then
 *   `HTTP_PROXY` (`http://` URLs); the first that applies wins. Each upper
 *   case name first, its lower case one when the upper is unset or not a
 *   proxy URL. `HTTP_PROXY` and `http_proxy` are ignored when
 *   `REQUEST_METHOD` is set (a CGI request could set them through a
 *   `Proxy:` header).
 * - A proxy URL without a scheme is `http://`; schemes other than `http`,
 *   `https`, `socks5`, `socks5h` make it no proxy; its path is ignored; its
 *   userinfo (percent-decoded) is sent as basic `Proxy-Authorization`, and
 *   userinfo without a `:` makes it no proxy at all (fetch then goes direct).
 * - `NO_PROXY` (else `no_proxy`; set but empty: nothing bypassed), a comma
 *   list: an IP address or a CIDR block matches the URL's host when it is
 *   an address; `*` matches every host; any other entry is a domain that
 *   matches itself and its subdomains (`example.com` and `.example.com`
 *   alike). Compared as written: no `*.example.com`, no `host:port`, no
 *   `[::1]` (write `::1`), and no case folding (hosts are lower case).
 *
 * ```ts ignore
 * const rules = ProxyRules.fromEnv((name) => Deno.env.get(name));
 * rules.proxyFor(new URL("https://s3.example.com/b/k")); // { hostname, port, ... } or undefined
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import ipaddr from "ipaddr.js";

/** The environment variables the rules are read from. */
export { PROXY_ENV } from "../ops/proxy_settings.ts";

/** A proxy named by the environment. */
export interface Proxy {
  /** How the proxy is spoken to: only `http` is spoken by the parts. */
  scheme: "http" | "https" | "socks5" | "socks5h";
  /** Its host, IPv6 without brackets. */
  hostname: string;
  port: number;
  /** `Basic …` from the proxy URL's userinfo, if any. */
  authorization?: string;
  /** The proxy URL without its userinfo, for messages. */
  shown: string;
}

/** Which URLs a proxy is for. */
type Filter = "all" | "https" | "http";

interface Intercept {
  filter: Filter;
  proxy: Proxy;
}

type IpRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** `NO_PROXY`'s entries, sorted as fetch sorts them. */
interface NoProxy {
  ips: IpRange[];
  domains: string[];
}

const DEFAULT_PORTS: Record<Proxy["scheme"], number> = {
  http: 80,
  https: 443,
  socks5: 1080,
  socks5h: 1080,
};

/** The proxies of the environment and the hosts that bypass them. */
export class ProxyRules {
  readonly #intercepts: Intercept[];
  readonly #no: NoProxy | undefined;

  /** No proxy for any URL. */
  static readonly NONE: ProxyRules = new ProxyRules([], undefined);

  private constructor(intercepts: Intercept[], no: NoProxy | undefined) {
    this.#intercepts = intercepts;
    this.#no = no;
  }

  /** The rules `env` (a reader of environment variables) gives. */
  static fromEnv(env: (name: string) => string | undefined): ProxyRules {
    const first = (filter: Filter, upper: string, lower: string) => {
      const proxy = parseProxy(env(upper)) ?? parseProxy(env(lower));
      return proxy ? [{ filter, proxy }] : [];
    };
    const intercepts = [
      ...first("all", "ALL_PROXY", "all_proxy"),
      ...first("https", "HTTPS_PROXY", "https_proxy"),
      ...(env("REQUEST_METHOD") === undefined
        ? first("http", "HTTP_PROXY", "http_proxy")
        : []),
    ];
    const no = parseNoProxy(env("NO_PROXY") ?? env("no_proxy") ?? "");
    return new ProxyRules(intercepts, no);
  }

  /** The proxy a request to `url` goes through; `undefined`: direct. */
  proxyFor(url: URL): Proxy | undefined {
    if (this.#no && noProxyMatches(this.#no, url.hostname)) return undefined;
    const scheme = url.protocol.slice(0, -1);
    return this.#intercepts.find(({ filter }) =>
      filter === "all" || filter === scheme
    )?.proxy;
  }
}

/** A proxy URL as fetch takes it, or `undefined` when it takes none. */
function parseProxy(value: string | undefined): Proxy | undefined {
  if (value === undefined) return undefined;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  let url: URL;
  try {
    url = new URL(hasScheme ? value : `http://${value}`);
  } catch {
    return undefined;
  }
  const scheme = url.protocol.slice(0, -1);
  if (!Object.hasOwn(DEFAULT_PORTS, scheme) || url.hostname === "") {
    return undefined;
  }
  const kind = scheme as Proxy["scheme"];
  const authority = value.replace(/^[^:]*:\/\//, "").split(/[/?#]/)[0]!;
  const at = authority.lastIndexOf("@");
  let authorization: string | undefined;
  if (at >= 0) {
    // fetch takes no proxy at all for userinfo without a password part.
    if (!authority.slice(0, at).includes(":")) return undefined;
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    authorization = `Basic ${
      Buffer.from(`${user}:${pass}`).toString("base64")
    }`;
  }
  const port = Number(url.port || DEFAULT_PORTS[kind]);
  return {
    scheme: kind,
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port,
    ...(authorization ? { authorization } : {}),
    shown: `${scheme}://${url.host}`,
  };
}

/** An address as fetch reads one: dotted quads or IPv6, nothing looser. */
function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes(":") && !text.includes("%") && ipaddr.IPv6.isValid(text)) {
    return ipaddr.IPv6.parse(text);
  }
  return undefined;
}

/** `NO_PROXY`'s list; `undefined` when empty. */
function parseNoProxy(list: string): NoProxy | undefined {
  if (list === "") return undefined;
  const no: NoProxy = { ips: [], domains: [] };
  for (const entry of list.split(",").map((part) => part.trim())) {
    const slash = entry.indexOf("/");
    const ip = parseIp(slash < 0 ? entry : entry.slice(0, slash));
    const bits = slash < 0 ? undefined : entry.slice(slash + 1);
    const max = ip?.kind() === "ipv4" ? 32 : 128;
    if (ip && bits === undefined) {
      no.ips.push([ip, max]);
    } else if (ip && /^\d{1,3}$/.test(bits!) && Number(bits) <= max) {
      no.ips.push([ip, Number(bits)]);
    } else {
      no.domains.push(entry);
    }
  }
  return no;
}

/** Whether `hostname` (a URL's) bypasses the proxies. */
function noProxyMatches(no: NoProxy, hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  const ip = parseIp(host);
  if (ip) {
    return no.ips.some((range) =>
      range[0].kind() === ip.kind() &&
      (ip as ipaddr.IPv4).match(range as [ipaddr.IPv4, number])
    );
  }
  return no.domains.some((d) => domainMatches(d, host));
}

/**
 * Whether the `NO_PROXY` entry `d` takes `host`: itself, or a subdomain
 * (curl's rule, except that `example.com` takes `www.example.com` too).
 */
function domainMatches(d: string, host: string): boolean {
  if (d === host || (d.startsWith(".") && d.slice(1) === host)) return true;
  if (host.endsWith(d)) {
    return d.startsWith(".") || host[host.length - d.length - 1] === ".";
  }
  return d === "*";
}
