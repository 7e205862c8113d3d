/**
 * Fills a files folder with many committed files, as uploads leave them
 * (`<id>` and its `<id>.json` sidecar, the same JSON line), for measuring
 * what a service over 100k or 300k stored files costs: its start (the
 * index reads every sidecar), its RSS, the first `GET /files` after a
 * change and the event loop meanwhile (bench/PROFILE.md, "Many stored
 * files"). Written while the service is stopped: 300k files take ~16 s,
 * where uploads through the service would take hours.
 *
 * ```sh
 * deno run -A bench/many_files.ts ./data/k300/files 300000
 * DATA_DIR=./data/k300 deno task start
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { newId } from "../services/storage/metadata.ts";

/** Options of {@linkcode writeManyFiles}. */
export interface ManyFilesOptions {
  /** The files folder (`DATA_DIR/files`); made if missing. */
  dir: string;
  /** How many files. */
  count: number;
  /**
   * Every how many files one carries a filename and a content type, as a
   * form's upload does (the rest are raw bodies). @default {2}
   */
  namedEvery?: number;
}

/** Writes `count` committed files into `dir`, 10 ms of `created` apart. */
export function writeManyFiles(options: ManyFilesOptions): void {
  const { dir, count, namedEvery = 2 } = options;
  Deno.mkdirSync(dir, { recursive: true });
  const start = Date.now() - count * 10;
  for (let i = 0; i < count; i++) {
    const id = newId();
    const content = new TextEncoder().encode(`file ${i} ${id}\n`);
    const meta: Record<string, unknown> = {
      id,
      size: content.length,
      sha256: createHash("sha256").update(content).digest("hex"),
      created: new Date(start + i * 10).toISOString(),
    };
    if (i % namedEvery === 0) {
      meta.filename = `report-${i}.txt`;
      meta.contentType = "text/plain";
    }
    // The sidecar first, then the content: the order a commit renames in.
    Deno.writeTextFileSync(
      join(dir, `${id}.json`),
      JSON.stringify(meta) + "\n",
    );
    Deno.writeFileSync(join(dir, id), content);
  }
}

if (import.meta.main) {
  const [dir, count] = Deno.args;
  if (dir === undefined || !(Number(count) > 0)) {
    throw new TypeError("usage: many_files.ts <DATA_DIR/files> <count>");
  }
  writeManyFiles({ dir, count: Number(count) });
}
