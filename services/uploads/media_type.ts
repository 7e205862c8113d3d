/**
 * Upload media types: how a body's `Content-Type` is read
 * ({@linkcode uploadMediaKind}: a form, raw bytes, or refused), and the
 * media type an upload declares, as it is stored and listed with the
 * file (`contentType`) and served back (`services/http/served_type.ts`):
 * a form's file part's `Content-Type`, or a raw body's. Kept only when it
 * is a media type as RFC 6838 4.2 names them (type and subtype of at most
 * 127 characters each), lowercased, with its `charset` if it gives one
 * (a text file's bytes read right only with it); other parameters are
 * dropped.
 *
 * @example Usage
 * ```ts
 * import { declaredMediaType } from "./media_type.ts";
 *
 * declaredMediaType("Text/Plain; charset=UTF-8; x=y"); // "text/plain; charset=utf-8"
 * declaredMediaType("image/png"); // "image/png"
 * declaredMediaType("not a type"); // undefined
 * ```
 *
 * @module
 */

/** A media type's `type/subtype` (RFC 6838 4.2). */
export const MEDIA_TYPE =
  /^[A-Za-z0-9][\w!#$&^.+-]{0,126}\/[A-Za-z0-9][\w!#$&^.+-]{0,126}$/;

// A charset name (RFC 2978: a token of at most 40 characters), quoted or not.
const CHARSET = /^\s*charset\s*=\s*"?([\w!#$%&'+.^`|~-]{1,40})"?\s*$/i;

/**
 * The media type `header` (a `Content-Type` value) declares, with its
 * `charset`; `undefined` for none, or one that is no media type.
 */
export function declaredMediaType(
  header: string | null | undefined,
): string | undefined {
  if (header === null || header === undefined) return undefined;
  const [type = "", ...parameters] = header.split(";");
  const essence = type.trim().toLowerCase();
  if (!MEDIA_TYPE.test(essence)) return undefined;
  for (const parameter of parameters) {
    const charset = CHARSET.exec(parameter)?.[1];
    if (charset !== undefined) {
      return `${essence}; charset=${charset.toLowerCase()}`;
    }
  }
  return essence;
}

/**
 * How a request body's media type is taken by the upload routes: a form,
 * raw bytes of the declared type, raw bytes whose declared type is not the
 * file's (`unlabelled`: not kept), or refused.
 */
export type UploadMediaKind =
  | "raw"
  | "unlabelled"
  | "multipart"
  | "unsupported";

/** Options of {@linkcode uploadMediaKind}. */
export interface UploadMediaKindOptions {
  /** The request's method. @default {"POST"} */
  method?: string;
}

/**
 * How an upload with `Content-Type: contentType` is read: a
 * `multipart/form-data` form; raw bytes (no type, or any type that is not
 * a form); or refused (415): an urlencoded form (it cannot carry a file's
 * bytes, and `curl --data-binary` sends that type by default) and other
 * multipart types. An urlencoded `PUT` is raw bytes, its type not kept: no
 * HTML form sends a PUT, and `wget --method=PUT --body-file=f` labels every
 * file so (it was 415).
 */
export function uploadMediaKind(
  contentType: string | null,
  { method = "POST" }: UploadMediaKindOptions = {},
): UploadMediaKind {
  if (contentType === null) return "raw";
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  if (type === "multipart/form-data") return "multipart";
  if (type === "application/x-www-form-urlencoded") {
    return method === "PUT" ? "unlabelled" : "unsupported";
  }
  return type.startsWith("multipart/") ? "unsupported" : "raw";
}
