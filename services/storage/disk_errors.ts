/**
 * What a filesystem error met in the files folder means to the routes. A
 * missing file is the file's own state (404); but a path that is not a
 * folder, permissions taken away or an I/O error is the folder's, met by
 * every request alike until someone fixes the disk: the storage is
 * unusable for now, answered 503 with `Retry-After` like an S3 store that
 * is down, never 500 (a fault of the server) nor 404 (a file that is gone).
 *
 * @module
 */

import { StorageUnavailableError } from "./storage.ts";

/** Codes of the OS errors that are the folder's state, not one file's. */
const FOLDER_CODES = new Set(["ENOTDIR", "EACCES", "EPERM", "EIO", "ELOOP"]);

/**
 * `error` as a {@linkcode StorageUnavailableError} when it is the state of
 * folder `dir` (see the module doc), else `error` as it is.
 */
export function folderUnusable(dir: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (
    error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.PermissionDenied ||
    (typeof code === "string" && FOLDER_CODES.has(code))
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

function unusable(
  dir: string,
  what: string,
  error: unknown,
): StorageUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StorageUnavailableError(`${dir} ${what}: ${reason}`, {
    cause: error,
  });
}
