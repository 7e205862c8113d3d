/**
 * The settings read from the environment only, with no flag: the proxy
 * variables Deno's fetch reads for every outbound call (the upstream's and
 * the store's), which the S3 parts' own connections read the same way
 * (`services/storage/proxy_rules.ts`). One table for those reads, the
 * start task's `--allow-env` and `--help`: `--help` listed every setting
 * but these, so an operator learnt of them only from README.
 *
 * @module
 */

/** A setting read from the environment only. */
export interface EnvOnlySetting {
  /** Its names, the upper case one first (read before the lower). */
  names: readonly string[];
  /** Its `--help` line. */
  help: string;
}

/** The proxy variables, in the order fetch reads them. */
export const PROXY_SETTINGS: readonly EnvOnlySetting[] = [
  {
    names: ["ALL_PROXY", "all_proxy"],
    help: "as HTTPS_PROXY, for both schemes, before the two below",
  },
  {
    names: ["HTTPS_PROXY", "https_proxy"],
    help:
      "the proxy for https:// URLs (the upstream's and the store's, S3 parts included), through a CONNECT tunnel; userinfo in its URL is sent as basic Proxy-Authorization",
  },
  {
    names: ["HTTP_PROXY", "http_proxy"],
    help:
      "as HTTPS_PROXY, for http:// URLs (sent to the proxy in absolute form); ignored while REQUEST_METHOD is set",
  },
  {
    names: ["NO_PROXY", "no_proxy"],
    help:
      "comma-separated hosts that bypass the proxy: addresses (::1, not [::1]), CIDRs, *, domains with their subdomains; no host:port, no *.domain",
  },
  {
    names: ["REQUEST_METHOD"],
    help: "read only to ignore HTTP_PROXY while it is set (a CGI context)",
  },
];

/** Every name of {@linkcode PROXY_SETTINGS}. */
export const PROXY_ENV: readonly string[] = PROXY_SETTINGS.flatMap((s) =>
  s.names
);
