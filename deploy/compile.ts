/**
 * What `deno task compile` runs: `deno compile` with the arguments it is
 * given, plus one `--exclude` per installed npm package that the entry's
 * module graph does not reach.
 *
 *   deno run --allow-run=deno deploy/compile.ts <deno compile flags> main.ts
 *
 * With deno.json's `"nodeModulesDir": "auto"`, `deno compile` embeds the whole
 * node_modules folder, so the tests' and the bench's tools (typescript,
 * playwright-core, vega, the OpenAPI linters, ...) went into the executable:
 * 162 MB of files, where the service needs 21 packages (28 MB). Which packages
 * are reached is asked of `deno info --json <entry>` at every build (the npm
 * packages the graph imports and their dependencies, as deno.lock resolves
 * them), so no list here goes stale when the imports or deno.lock change.
 *
 * Each exclude is a package's own folder (`.deno/<id>/node_modules/<name>`),
 * the path the top-level symlinks point at: `deno compile` does not follow a
 * symlink into an excluded path, but it does into a child of one, so excluding
 * `.deno/<id>` would let `node_modules/<name>` pull the package back in.
 * `node_modules/.bin` goes too: the service starts no processes.
 *
 * @module
 */

/** A package as `deno info --json` describes it in `npmPackages`. */
export type NpmPackage = {
  name: string;
  version: string;
  dependencies?: string[];
  localPath?: string;
};

/** The part of `deno info --json` this script reads. */
export type GraphInfo = {
  modules: { specifier: string; kind: string; npmPackage?: string }[];
  npmPackages: Record<string, NpmPackage>;
};

/** The ids of the npm packages the graph imports and of all their dependencies. */
export function runtimeClosure(info: GraphInfo): Set<string> {
  const pending = info.modules.flatMap((module) =>
    module.kind === "npm" && module.npmPackage ? [module.npmPackage] : []
  );
  const reached = new Set<string>();
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (reached.has(id)) continue;
    const pkg = info.npmPackages[id];
    if (pkg === undefined) {
      throw new TypeError(
        `deno info names npm package ${id} but lists no such package`,
      );
    }
    reached.add(id);
    pending.push(...(pkg.dependencies ?? []));
  }
  return reached;
}

/**
 * The `--exclude` flags: the folder of every installed package outside
 * {@link runtimeClosure}, and the `.bin` folder of node_modules. None when
 * nothing is installed locally (no `localPath`), as then nothing is embedded
 * from a node_modules folder.
 */
export function excludeFlags(info: GraphInfo): string[] {
  const closure = runtimeClosure(info);
  const kept = new Set(
    [...closure].map((id) => info.npmPackages[id]?.localPath),
  );
  const dropped = new Set<string>();
  for (const [id, pkg] of Object.entries(info.npmPackages)) {
    const path = pkg.localPath;
    if (path === undefined || closure.has(id) || kept.has(path)) continue;
    dropped.add(path);
  }
  const root = nodeModulesRoot(info);
  if (root !== undefined) dropped.add(`${root}/.bin`);
  return [...dropped].sort().map((path) => `--exclude=${path}`);
}

/**
 * The node_modules folder the packages are installed in, as deno resolved it
 * (symlinks followed).
 */
export function nodeModulesRoot(info: GraphInfo): string | undefined {
  const path = Object.values(info.npmPackages).find((pkg) => pkg.localPath)
    ?.localPath;
  const at = path?.lastIndexOf("/.deno/") ?? -1;
  return at < 0 ? undefined : path?.slice(0, at);
}

/**
 * `args` with each `--exclude=node_modules/...` re-rooted at
 * {@link nodeModulesRoot}: deno compile matches excludes against the real
 * path, so a relative one misses when node_modules is a symlink (as in a git
 * worktree that shares another checkout's node_modules).
 */
export function rerootExcludes(args: string[], info: GraphInfo): string[] {
  const root = nodeModulesRoot(info);
  const prefix = "--exclude=node_modules/";
  return args.map((arg) =>
    root !== undefined && arg.startsWith(prefix)
      ? `--exclude=${root}/${arg.slice(prefix.length)}`
      : arg
  );
}

/** `deno info --json` of `entry`, with deno.json and deno.lock as they are. */
async function graphInfo(entry: string): Promise<GraphInfo> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["info", "--frozen", "--json", entry],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno info ${entry}: ${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/**
 * Compiles with `args` (flags, then the entry last) and the excludes; exits
 * with deno compile's code.
 */
async function compile(args: string[]): Promise<void> {
  const entry = args.at(-1);
  if (entry === undefined || entry.startsWith("-")) {
    throw new TypeError(
      "usage: deploy/compile.ts <deno compile flags> <entry>",
    );
  }
  const info = await graphInfo(entry);
  const excludes = excludeFlags(info);
  // deno-lint-ignore no-console
  console.error(
    `deploy/compile.ts: ${
      runtimeClosure(info).size
    } npm packages reached from ${entry}; ` +
      `${excludes.length} folders excluded`,
  );
  const { code } = await new Deno.Command("deno", {
    args: [
      "compile",
      ...rerootExcludes(args.slice(0, -1), info),
      ...excludes,
      entry,
    ],
    stdin: "inherit",
  }).spawn().status;
  Deno.exit(code);
}

if (import.meta.main) await compile(Deno.args);
