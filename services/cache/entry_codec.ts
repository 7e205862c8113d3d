/**
 * The byte form of a {@linkcode CacheEntry} in Redis: one value, so a read
 * or a write is one command and an entry is never seen half-written.
 *
 * ```
 * [u32 big-endian header length][header: JSON, UTF-8][body bytes, verbatim]
 * ```
 *
 * The body stays bytes end to end (a Redis client reading it as a string
 * would corrupt what is not UTF-8).
 *
 * @module
 */

import type { OriginValidators } from "../http/origin_validators.ts";
import type { Pagination } from "../http/pagination.ts";
import type { CacheEntry } from "./store.ts";

/** A stored entry and until when (ms since the epoch) it may be served. */
export interface SharedEntry {
  entry: CacheEntry;
  retainUntil: number;
}

interface Header {
  status: number;
  contentType: string;
  etag: string;
  storedAt: number;
  retainUntil: number;
  upstreamAgeMs?: number;
  validators?: OriginValidators;
  pagination?: Pagination;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The header of `shared`: everything but the body, so a renewal can
 * rewrite it and leave the body where it is.
 */
export function encodeHeader(shared: SharedEntry): Uint8Array {
  const { entry, retainUntil } = shared;
  const header: Header = {
    status: entry.status,
    contentType: entry.contentType,
    etag: entry.etag,
    storedAt: entry.storedAt,
    retainUntil,
    ...(entry.upstreamAgeMs === undefined
      ? {}
      : { upstreamAgeMs: entry.upstreamAgeMs }),
    ...(entry.validators ? { validators: entry.validators } : {}),
    ...(entry.pagination ? { pagination: entry.pagination } : {}),
  };
  return encoder.encode(JSON.stringify(header));
}

/** The bytes of `shared`. */
export function encodeEntry(shared: SharedEntry): Uint8Array {
  const { entry } = shared;
  const head = encodeHeader(shared);
  const out = new Uint8Array(4 + head.byteLength + entry.body.byteLength);
  new DataView(out.buffer).setUint32(0, head.byteLength);
  out.set(head, 4);
  out.set(entry.body, 4 + head.byteLength);
  return out;
}

/** The entry in `bytes`, or `undefined` when they are not one. */
export function decodeEntry(bytes: Uint8Array): SharedEntry | undefined {
  if (bytes.byteLength < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0);
  if (4 + length > bytes.byteLength) return undefined;
  let header: Header;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)));
  } catch {
    return undefined;
  }
  const { status, contentType, etag, storedAt, retainUntil } = header;
  const { upstreamAgeMs, validators, pagination } = header;
  if (
    typeof status !== "number" || typeof contentType !== "string" ||
    typeof etag !== "string" || typeof storedAt !== "number" ||
    typeof retainUntil !== "number" ||
    !(upstreamAgeMs === undefined || typeof upstreamAgeMs === "number") ||
    !isValidators(validators) || !isPagination(pagination)
  ) return undefined;
  return {
    // An exact-size copy as a plain Uint8Array: the reply may be a Buffer
    // (whose slice() is a view) of a larger shared pool.
    entry: {
      status,
      contentType,
      etag,
      storedAt,
      ...(upstreamAgeMs === undefined ? {} : { upstreamAgeMs }),
      ...(validators ? { validators } : {}),
      ...(pagination ? { pagination } : {}),
      body: new Uint8Array(bytes.subarray(4 + length)),
    },
    retainUntil,
  };
}

/** Whether `value` is absent or a well-formed {@linkcode OriginValidators}. */
function isValidators(value: unknown): value is OriginValidators | undefined {
  if (value === undefined) return true;
  if (typeof value !== "object" || value === null) return false;
  const { etag, lastModified } = value as Record<string, unknown>;
  return (etag === undefined || typeof etag === "string") &&
    (lastModified === undefined || typeof lastModified === "string");
}

/** Whether `value` is absent or a well-formed {@linkcode Pagination}. */
function isPagination(value: unknown): value is Pagination | undefined {
  if (value === undefined) return true;
  if (typeof value !== "object" || value === null) return false;
  const { totalCount, links } = value as Record<string, unknown>;
  return (totalCount === undefined || typeof totalCount === "string") &&
    (links === undefined ||
      Array.isArray(links) &&
        links.every((link) =>
          Array.isArray(link) && link.length === 2 &&
          typeof link[0] === "string" && typeof link[1] === "string"
        ));
}
