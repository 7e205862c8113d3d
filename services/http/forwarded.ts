/**
 * The scheme the client used, as the proxy in front says it when that
 * proxy ends TLS (`X-Forwarded-Proto`, or RFC 7239 `Forwarded: proto=`),
 * so the absolute URLs the service sends (a list's `Link`) say `https://`.
 * Trusted only when the operator names the header their proxy sets
 * (`TRUST_FORWARDED_PROTO`): any client can send either header, so it is
 * believed only where the proxy overwrites it, and only one of them (a
 * proxy that sets one passes the other on as the client sent it).
 *
 * @module
 */

import { originOf } from "./request_target.ts";

/** Which header names the client's scheme: none (the default), or one. */
export const FORWARDED_PROTO_SOURCES = [
  "off",
  "x-forwarded-proto",
  "forwarded",
] as const;

/** One of {@linkcode FORWARDED_PROTO_SOURCES}. */
export type ForwardedProtoSource = typeof FORWARDED_PROTO_SOURCES[number];

/**
 * The last element of a comma-separated list: what the proxy nearest the
 * service added (a proxy that appends keeps what the client sent first).
 */
function lastElement(value: string): string {
  return value.slice(value.lastIndexOf(",") + 1).trim();
}

/** The `proto` parameter of one RFC 7239 element (`for=..;proto=https`). */
function protoParameter(element: string): string | undefined {
  for (const pair of element.split(";")) {
    const equals = pair.indexOf("=");
    if (pair.slice(0, equals).trim().toLowerCase() !== "proto") continue;
    return pair.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

/**
 * The scheme `source` names in `headers`: `http` or `https`, else
 * `undefined` (off, absent, or anything else: the request's own scheme
 * stands).
 */
export function forwardedProto(
  headers: Headers,
  source: ForwardedProtoSource,
): "http" | "https" | undefined {
  if (source === "off") return undefined;
  const value = headers.get(source);
  if (value === null) return undefined;
  const element = lastElement(value);
  const proto = (source === "forwarded" ? protoParameter(element) : element)
    ?.toLowerCase();
  return proto === "http" || proto === "https" ? proto : undefined;
}

/**
 * The origin the client asked (`https://host:port`): the request URL's,
 * with the scheme `source` names in `headers` when it names one.
 */
export function publicOrigin(
  href: string,
  headers: Headers,
  source: ForwardedProtoSource,
): string {
  const origin = originOf(href);
  const proto = forwardedProto(headers, source);
  return proto === undefined
    ? origin
    : `${proto}${origin.slice(origin.indexOf(":"))}`;
}
