/**
 * What a filesystem error met in the files folder means to the routes: the
 * one mapping of OS errors to the folder's state. A missing file is the
 * file's own state (404); but a path that is not a folder, permissions
 * taken away or an I/O error is the folder's, met by every request alike
 * until someone fixes the disk: the storage is unusable for now, answered
 * 503 with `Retry-After` like an S3 store that is down, never 500 (a fault
 * of the server) nor 404 (a file that is gone).
 *
 * Two questions, two sets of codes: may the folder be read
 * ({@linkcode folderUnusable}: `ENOTDIR`, `EACCES`, `EPERM`, `EIO`,
 * `ELOOP`), and does it take writes ({@linkcode folderUnwritable}: a
 * read-only filesystem `EROFS`, `EACCES`, `EPERM`, `EIO`; the upload's
 * 503 says "takes no writes"). A full disk is neither: the upload pipeline
 * answers it 507.
 *
 * @module
 */

import { StorageUnavailableError, StorageUnwritableError } from "./storage.ts";

/** Codes of the OS errors that are the folder's state, not one file's. */
const FOLDER_CODES = new Set(["ENOTDIR", "EACCES", "EPERM", "EIO", "ELOOP"]);
/** Codes of the OS errors that say the folder takes no writes. */
const UNWRITABLE_CODES = new Set(["EROFS", "EACCES", "EPERM", "EIO"]);

/**
 * Whether `error` is an OS error with one of `codes`. Deno gives EACCES
 * and EPERM as `PermissionDenied`, with or without their code.
 */
function hasCode(error: unknown, codes: ReadonlySet<string>): boolean {
  if (error instanceof Deno.errors.PermissionDenied) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && codes.has(code);
}

/** `what`, then the OS's reason, as the storage errors say it. */
function described(what: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `${what}: ${reason}`;
}

/**
 * `error` as a {@linkcode StorageUnavailableError} when it is the state of
 * folder `dir` (see the module doc), else `error` as it is.
 */
export function folderUnusable(dir: string, error: unknown): unknown {
  if (
    error instanceof Deno.errors.NotADirectory || hasCode(error, FOLDER_CODES)
  ) {
    return unusable(dir, "cannot be used", error);
  }
  return error;
}

/** The folder `dir` could not be made again: never anything but unusable. */
export function folderUnmade(
  dir: string,
  error: unknown,
): StorageUnavailableError {
  if (error instanceof StorageUnavailableError) return error;
  return unusable(dir, "cannot be made", error);
}

/**
 * `error` as a {@linkcode StorageUnwritableError} when the OS says the
 * folder takes no writes (see the module doc), else `error` as it is.
 */
export function folderUnwritable(error: unknown): unknown {
  if (!hasCode(error, UNWRITABLE_CODES)) return error;
  return new StorageUnwritableError(
    described("The files folder takes no writes", error),
    { cause: error },
  );
}

function unusable(
  dir: string,
  what: string,
  error: unknown,
): StorageUnavailableError {
  return new StorageUnavailableError(described(`${dir} ${what}`, error), {
    cause: error,
  });
}
