/**
 * `POST /files` (also `PUT /files`, `PUT /files/<name or id>`, `POST
 * /file`): the checks that need no slot (auth, folder, media type,
 * declared length and digest, the id and name: upload_target.ts), the slot
 * limits, then the reader/writer pipeline and its 201, or the answer of an
 * expected failure.
 *
 * @module
 */

import { uploadMediaKind } from "../../services/uploads/media_type.ts";
import { declaredSha256, digestInTrailer } from "../../services/http/digest.ts";
import {
  requestCoding,
  unsupportedCoding,
} from "../../services/http/request_coding.ts";
import { refusingBody } from "../../services/http/connection_close.ts";
import { problem } from "../../services/http/problem.ts";
import type { UploadResult } from "../../services/uploads/upload_figures.ts";
import type {
  UploadSlot,
  UploadTracker,
} from "../../services/uploads/tracker.ts";
import type { LiveUpload } from "../../services/uploads/board.ts";
import { isValidId, newId } from "../../services/storage/metadata.ts";
import type { FilesOptions, UploadEvent } from "./routes.ts";
import { describeUploadFailure, isBodyError } from "./upload_failure.ts";
import {
  createdResponse,
  malformedDigest,
  notAWholeFile,
  trailerDigest,
  unsupportedMediaType,
} from "./upload_answers.ts";
import { declaredLength, promisedSpaceRefusal } from "./upload_length.ts";
import { noSpaceLine, type UploadRefusal } from "./upload_length.ts";
import { slotRefusal } from "./upload_admission.ts";
import { putPreconditionRefusal, uploadTarget } from "./upload_target.ts";
import { receiveBody, type UploadPlan } from "./upload_receive.ts";
import type { Handler, RouteContext } from "../router.ts";
import {
  FileIdTakenError,
  type IdHolder,
  StorageUnavailableError,
} from "../../services/storage/storage.ts";

/** What the upload handler shares with the other file routes. */
export interface UploadHelpers {
  /** 401 when a token is set and not given, else `undefined`. */
  unauthorized: (req: Request, ctx: RouteContext) => Response | undefined;
  /** 503 for a missing storage folder (rethrows anything else). */
  storageUnavailable: (error: unknown, ctx: RouteContext) => Response;
}

/** An admitted upload: its slot and its entry on the board. */
interface Admitted {
  slot: UploadSlot;
  live: LiveUpload;
}

/** The upload handler. */
export function uploadHandler(
  options: FilesOptions,
  tracker: UploadTracker,
  helpers: UploadHelpers,
): Handler {
  const route = new UploadRoute(options, tracker, helpers);
  return (req, ctx) => route.handle(req, ctx);
}

/** The steps of one upload request, each its own method. */
class UploadRoute {
  readonly #o: FilesOptions;
  readonly #tracker: UploadTracker;
  readonly #helpers: UploadHelpers;
  /** 507s before and during the body, said to the operator: upload_length.ts. */
  readonly #noSpace: ReturnType<typeof noSpaceLine>;

  constructor(
    options: FilesOptions,
    tracker: UploadTracker,
    helpers: UploadHelpers,
  ) {
    this.#o = options;
    this.#tracker = tracker;
    this.#helpers = helpers;
    this.#noSpace = noSpaceLine(options.logger);
  }

  #report(event: UploadEvent, ctx: RouteContext): void {
    const { onUpload } = this.#o;
    ctx.log.upload = event.outcome;
    onUpload?.(event);
  }

  /**
   * The checks that need no upload slot: auth, the folder, the media type,
   * the declared length (413, 507) and digest. Resolves what the upload
   * reads, or the answer.
   */
  async #prepare(
    req: Request,
    ctx: RouteContext,
  ): Promise<UploadPlan | Response> {
    const { store } = this.#o;
    const denied = this.#helpers.unauthorized(req, ctx);
    if (denied) {
      this.#report({ outcome: "unauthorized", bytes: 0 }, ctx);
      return denied;
    }
    try {
      // DATA_DIR/files removed while running: make it again, or say so.
      await store.ready();
    } catch (error) {
      this.#report({ outcome: "error", bytes: 0 }, ctx);
      return this.#helpers.storageUnavailable(error, ctx);
    }
    const form = this.#bodyForm(req, ctx);
    if (form instanceof Response) return form;
    const { maxUploadBytes } = this.#o;
    const instance = ctx.url.pathname;
    const length = await declaredLength(req.headers, {
      ...form,
      store,
      maxUploadBytes,
      instance,
    });
    if ("response" in length) return this.#refused(length, ctx);
    const digest = declaredSha256(req.headers);
    if (digest === "malformed") {
      // Counted like every other refusal (it was in no uploads_total).
      this.#report({ outcome: "invalid_digest", bytes: 0 }, ctx);
      return malformedDigest(ctx);
    }
    if (digest === undefined && digestInTrailer(req.headers)) {
      this.#report({ outcome: "invalid_digest", bytes: 0 }, ctx);
      return trailerDigest(ctx);
    }
    const file = this.#fileId(req, ctx);
    if (file instanceof Response) return file;
    return {
      ...form,
      ...file,
      declared: {
        ...length,
        ...(digest === undefined ? {} : { sha256: digest }),
      },
    };
  }

  /**
   * The file's id (`Upload-Id`, `PUT /files/<id>`, or a new one) and the
   * name `PUT /files/<name>` gives (upload_target.ts), or 400.
   */
  #fileId(
    req: Request,
    ctx: RouteContext,
  ): Pick<UploadPlan, "id" | "chosen" | "filename"> | Response {
    const given = req.headers.get("upload-id");
    const instance = ctx.url.pathname;
    const target = given !== null && !isValidId(given)
      ? refusingBody(problem(400, {
        title: "Invalid Upload-Id",
        detail: "Upload-Id must be 32 lowercase hex characters",
        instance,
      }))
      : uploadTarget(ctx.params.id, { given, instance });
    if (target instanceof Response) {
      this.#report({ outcome: "invalid_id", bytes: 0 }, ctx);
      return target;
    }
    return {
      id: target.id ?? given ?? newId(),
      chosen: target.id !== undefined
        ? "path"
        : given === null
        ? "server"
        : "client",
      ...(target.filename === undefined ? {} : { filename: target.filename }),
    };
  }

  #refused(refusal: UploadRefusal, ctx: RouteContext): Response {
    const { outcome, response, detail } = refusal;
    if (outcome) this.#report({ outcome, bytes: 0 }, ctx);
    if (outcome === "no_space") {
      this.#noSpace.record("before_body", { requestId: ctx.requestId, detail });
    }
    return response;
  }

  /**
   * How the body is read (raw or a form, and its coding), or 415 for a
   * media type or a `Content-Encoding` not taken.
   */
  #bodyForm(
    req: Request,
    ctx: RouteContext,
  ): Pick<UploadPlan, "kind" | "coding"> | Response {
    const kind = uploadMediaKind(req.headers.get("content-type"), {
      method: ctx.method,
    });
    if (kind === "unsupported") {
      this.#report({ outcome: "unsupported", bytes: 0 }, ctx);
      return unsupportedMediaType(ctx);
    }
    const notWhole = notAWholeFile(req.headers, ctx);
    if (notWhole) {
      this.#report({ outcome: "unsupported", bytes: 0 }, ctx);
      return notWhole;
    }
    // The coding is part of what was sent (RFC 9110 8.4): the file is
    // what it decodes to, as for the JSON writes.
    const coding = requestCoding(req.headers.get("content-encoding"));
    if (coding === undefined) {
      this.#report({ outcome: "unsupported", bytes: 0 }, ctx);
      return refusingBody(unsupportedCoding(ctx.url.pathname));
    }
    return { kind, coding };
  }

  /**
   * Takes an upload slot, or answers 503 (draining, or every slot taken),
   * 429 (this client's share taken: upload_admission.ts) or 507. The
   * checks and begin() run with no await in between: with one,
   * simultaneous uploads could all pass the limits (or start after the
   * drain found no upload running).
   */
  #admit(ctx: RouteContext, plan: UploadPlan): Admitted | Response {
    const { maxConcurrentUploads, maxUploadsPerClient, draining, board } =
      this.#o;
    const instance = ctx.url.pathname;
    if (board.has(plan.id)) return this.#conflict(plan.id, "running", ctx);
    const refusal = slotRefusal({
      draining,
      tracker: this.#tracker,
      maxUploadsPerClient,
      maxConcurrentUploads,
      client: ctx.remoteAddress,
      instance,
    }) ?? promisedSpaceRefusal(plan.declared, board, instance);
    if (refusal) return this.#refused(refusal, ctx);
    return {
      slot: this.#tracker.begin(ctx.remoteAddress),
      live: board.add(plan.id, {
        // A coded body's length is not the file's.
        declaredLength: plan.coding === "identity"
          ? plan.declared.length
          : undefined,
        queueCapacityBytes: this.#o.queueBytes,
      }),
    };
  }

  /** 409: an upload of `id` runs, or a file `id` is stored. */
  #conflict(id: string, holder: IdHolder, ctx: RouteContext): Response {
    return this.#failure(new FileIdTakenError(id, holder), ctx);
  }

  /** Answers one upload request. */
  async handle(req: Request, ctx: RouteContext): Promise<Response> {
    const plan = await this.#prepare(req, ctx);
    if (plan instanceof Response) return plan;
    const admitted = this.#admit(ctx, plan);
    if (admitted instanceof Response) return admitted;
    const { slot, live } = admitted;
    try {
      // Checked once on the board: no other upload of this id can begin
      // or commit until this one ends.
      if (plan.chosen !== "server") {
        const taken = await this.#taken(req, ctx, plan);
        if (taken) return this.#ended(live, taken, ctx);
      }
      const result = await receiveBody(req, {
        plan,
        slot,
        live,
        options: this.#o,
        requestId: ctx.requestId,
      });
      live.end({ kind: "done", result });
      return this.#created(result, ctx);
    } catch (error) {
      return this.#ended(live, this.#failure(error, ctx), ctx);
    } finally {
      // An unexpected error (answered 500 by the central handler) ends it
      // here; an ended upload ignores this.
      live.end({ kind: "failed", outcome: "error", status: 500 });
      slot.done();
    }
  }

  /**
   * The refusal of a chosen id: 412 for the preconditions of a PUT to it
   * (upload_target.ts), else 409 when a file of it is stored.
   */
  async #taken(
    req: Request,
    ctx: RouteContext,
    plan: UploadPlan,
  ): Promise<Response | undefined> {
    const stored = await this.#o.store.stat(plan.id);
    if (plan.chosen === "path") {
      const refusal = putPreconditionRefusal(
        req.headers,
        stored,
        ctx.url.pathname,
      );
      if (refusal) {
        this.#report({ outcome: "conflict", bytes: 0 }, ctx);
        return refusal;
      }
    }
    return stored && this.#conflict(plan.id, "stored", ctx);
  }

  /** Ends `live` as failed with `response`'s status; returns `response`. */
  #ended(live: LiveUpload, response: Response, ctx: RouteContext): Response {
    live.end({
      kind: "failed",
      outcome: String(ctx.log.upload ?? "error"),
      status: response.status,
    });
    return response;
  }

  /** The 201 of a committed upload, and its log line. */
  #created(result: UploadResult, ctx: RouteContext): Response {
    const { logger } = this.#o;
    this.#report({ outcome: "created", bytes: result.size, result }, ctx);
    logger.info("upload.created", {
      requestId: ctx.requestId,
      id: result.id,
      size: result.size,
      durationMs: result.durationMs,
      bytesPerSecond: result.bytesPerSecond,
      bound: result.bound,
      readerWaitMs: result.readerWaitMs,
      readerBlockedMs: result.readerBlockedMs,
      writerWriteMs: result.writerWriteMs,
      writerIdleMs: result.writerIdleMs,
      writerHashWaitMs: result.writerHashWaitMs,
      maxQueuedBytes: result.maxQueuedBytes,
    });
    return createdResponse(result);
  }

  #failure(error: unknown, ctx: RouteContext): Response {
    const { maxUploadBytes, idleTimeoutMs, rateGraceMs, logger } = this.#o;
    const instance = ctx.url.pathname;
    // Whatever the reason, the client may still be sending: close the
    // connection rather than read (and drop) the rest.
    const headers = { connection: "close" };
    const failure = describeUploadFailure(error, {
      maxUploadBytes,
      idleTimeoutMs,
      rateGraceMs,
    });
    if (failure) {
      this.#report({ outcome: failure.outcome, bytes: 0 }, ctx);
      const { requestId } = ctx, { detail } = failure.details;
      if (failure.outcome === "no_space") {
        this.#noSpace.record("during_body", { requestId, detail });
      } else if (failure.log) {
        logger[failure.log](`upload.${failure.outcome}`, { requestId });
      }
      return problem(failure.status, { ...failure.details, instance }, {
        headers: { ...headers, ...failure.headers },
      });
    }
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof StorageUnavailableError
    ) {
      // The folder vanished mid-upload; the next upload makes it again.
      this.#report({ outcome: "error", bytes: 0 }, ctx);
      return this.#helpers.storageUnavailable(error, ctx);
    }
    if (isBodyError(error)) {
      // The client went away or its body broke: nothing was kept, and
      // nobody is left to read this answer.
      this.#report({ outcome: "aborted", bytes: 0 }, ctx);
      logger.warn("upload.aborted", {
        requestId: ctx.requestId,
        error: error instanceof Error ? error.message : String(error),
      });
      return problem(400, {
        title: "Upload aborted",
        detail: "The request body ended abnormally; nothing was kept",
        instance,
      }, { headers });
    }
    this.#report({ outcome: "error", bytes: 0 }, ctx);
    throw error;
  }
}
