/**
 * The error a response body fails with when its source fails after the
 * head went out (a stored file's stream: the object store stopped, a
 * disk read error). The runtime hands a body's error to the server's
 * `onError`, which knows nothing of the request; this one carries the
 * request id and path, so the one line logged of it
 * (`response.body_failed`, main.ts) names the download it cut short.
 *
 * @module
 */

/** Which request a body belonged to. */
export interface BodyOwner {
  requestId: string;
  path: string;
}

/** A body's source failed mid-answer; `cause` is the source's error. */
export class BodySourceError extends Error {
  readonly requestId: string;
  readonly path: string;
  constructor(owner: BodyOwner, cause: unknown) {
    super("the body's source failed after the answer began", { cause });
    this.name = "BodySourceError";
    this.requestId = owner.requestId;
    this.path = owner.path;
  }
}
