/**
 * What the upload pipeline reads of a request: its body as it is, or the
 * file part of its form (form_data.ts), decoded from its
 * `Content-Encoding` first, with the declared length and digest that
 * apply to those bytes.
 *
 * @module
 */

import { cancelledOnceAnswered } from "../http/answered_body.ts";
import { decodedBody, type RequestCoding } from "../http/request_coding.ts";
import { FrameFloor } from "../http/frame_floor.ts";
import { isUnframed, lengthRequired } from "../http/body_framing.ts";
import { type FilePartInfo, multipartFile } from "./form_data.ts";
import { sentDigestChecked } from "./sent_digest.ts";
import { declaredMediaType, type UploadMediaKind } from "./media_type.ts";
import type { BodyProgress } from "./reader.ts";

/** What the upload pipeline reads, and the checks that apply to it. */
export interface UploadBody {
  /** The file's bytes. */
  stream: ReadableStream<Uint8Array>;
  /** For a form: the file part's name and type, at commit. */
  describe?: () => FilePartInfo;
  /**
   * For a form: the whole body's bytes so far, which the rate floor and
   * the idle timeout count (its fields may come first, or slowly).
   */
  progress?: BodyProgress;
  /** The declared length, when it is the file's (a raw body). */
  expectedLength?: number;
  /** The declared SHA-256, when it is the file's (a raw body). */
  expectedSha256?: Uint8Array;
}

/** What {@linkcode uploadBody} reads, as the upload route admitted it. */
export interface UploadBodyPlan {
  kind: Exclude<UploadMediaKind, "unsupported">;
  /** The request's declared `Content-Length` and digest. */
  declared: { length?: number; sha256?: Uint8Array };
  /** The body's `Content-Encoding`. */
  coding: RequestCoding;
  /**
   * The name the request's path gave (`PUT /files/<name>`), already
   * cleaned; it names the file over a form part's own.
   */
  filename?: string;
}

/**
 * The file bytes of an upload request: its body as it is, or the file part
 * of its form, decoded from its `Content-Encoding` first. A form's
 * declared length and digest are those of the whole form: the digest is
 * checked by the parser, the length by the server's HTTP framing, and
 * neither is the file's. So are a coded body's: its digest is checked on
 * the bytes as sent, before they are decoded. A body framed by neither
 * `Content-Length` nor `Transfer-Encoding` that ends empty errors with
 * `LengthRequiredError` (services/http/body_framing.ts).
 */
export function uploadBody(req: Request, plan: UploadBodyPlan): UploadBody {
  const { kind, coding } = plan;
  let declared = plan.declared;
  // A refusal's cancel is put off until its answer is out (see
  // answered_body.ts): the runtime holds the connection meanwhile.
  let body: ReadableStream<Uint8Array> = cancelledOnceAnswered(req) ??
    new Blob().stream();
  if (isUnframed(req.headers)) body = lengthRequired(body);
  if (coding !== "identity") {
    if (declared.sha256 !== undefined) {
      body = sentDigestChecked(body, declared.sha256);
    }
    body = decodedBody(body, coding);
    declared = {};
  }
  const named = plan.filename === undefined ? {} : { filename: plan.filename };
  if (kind !== "multipart") {
    const contentType = kind === "raw"
      ? declaredMediaType(req.headers.get("content-type"))
      : undefined;
    const info = contentType === undefined ? named : { ...named, contentType };
    return {
      stream: body,
      describe: () => info,
      ...(declared.length === undefined
        ? {}
        : { expectedLength: declared.length }),
      ...(declared.sha256 === undefined
        ? {}
        : { expectedSha256: declared.sha256 }),
    };
  }
  const form = multipartFile(body, req.headers.get("content-type") ?? "", {
    frames: new FrameFloor(),
    ...(declared.sha256 === undefined
      ? {}
      : { expectedSha256: declared.sha256 }),
  });
  return {
    stream: form.stream,
    describe: () => ({ ...form.describe(), ...named }),
    progress: form,
  };
}
