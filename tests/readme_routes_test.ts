/**
 * README's Routes table names every path the service serves, as the served
 * `/openapi.json` lists them: a reader of the table found no `/docs`,
 * `/metrics` or `/openapi.json` there. A row's `<name>` or `:id` stands for
 * one path segment, so `/<resource>/:id` covers `/posts/{id}`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { serveApp } from "./fixtures/served_app.ts";

/** The JSONPlaceholder resources a `<resource>` or `<parent>` stands for. */
const RESOURCES = ["posts", "comments", "albums", "photos", "todos", "users"];

/** The paths README's Routes table names, as patterns of one segment each. */
async function readmeRoutes(): Promise<RegExp[]> {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const table = readme.split("\n## Routes\n")[1]!.split("\n\n")[0]!;
  const cells = table.split("\n").map((line) => line.split("|")[2] ?? "");
  const paths = cells.flatMap((cell) =>
    [...cell.matchAll(/`(?:[A-Z]+ )?(\/[^`?\s]*)/g)].map((m) => m[1]!)
  );
  return paths.map((path) => {
    const pattern = path.split("/").map((segment) =>
      /^(<[a-z]+>|:id)$/.test(segment) ? "[^/]+" : RegExp.escape(segment)
    ).join("/");
    return new RegExp(`^${pattern}$`);
  });
}

Deno.test("README's Routes table names every path /openapi.json lists", async () => {
  await using service = await serveApp({
    args: ["--cache-admin-token", "admin-token-0123456789"],
  });
  const document = await (await fetch(`${service.url}/openapi.json`))
    .json() as { paths: Record<string, unknown> };
  const routes = await readmeRoutes();
  const missing = Object.keys(document.paths).filter((path) => {
    const first = path.split("/")[1] ?? "";
    // `<resource>` rows are for the JSONPlaceholder resources only.
    const named = path.replaceAll("{id}", ":id");
    return !routes.some((route) =>
      route.test(named) &&
      (route.source.startsWith("^\\/[^/]+") ? RESOURCES.includes(first) : true)
    );
  });
  assert.deepEqual(missing, []);
});
