/**
 * Whether a path names anything (`lstat`: a link is not followed), and
 * what it names (`stat`) when it does.
 *
 * @module
 */

/** Whether `path` exists; errors other than "not found" are thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * What `path` names (`stat`), or `undefined` when nothing; errors other
 * than "not found" are thrown.
 */
export async function statIfAny(
  path: string,
): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
