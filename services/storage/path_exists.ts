/**
 * Whether a path names anything (`lstat`: a link is not followed).
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
