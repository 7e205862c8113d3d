/**
 * A URL the upstream names (`Location`, a `Link` target) as the path it
 * has on this service, which serves the upstream's paths as its own.
 *
 * @module
 */

/**
 * The path (and query) `value` names when it points into the upstream
 * at `base` (a reference relative to it, or absolute on its origin and
 * under its path), else `undefined`.
 */
export function upstreamPath(
  value: string,
  base: string,
): string | undefined {
  const root = new URL(base.endsWith("/") ? base : base + "/");
  let url: URL;
  try {
    url = new URL(value, root);
  } catch {
    return undefined;
  }
  if (url.origin !== root.origin) return undefined;
  if (!url.pathname.startsWith(root.pathname)) return undefined;
  return "/" + url.pathname.slice(root.pathname.length) + url.search;
}
