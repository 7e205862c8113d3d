/**
 * What both entry modules share before they serve (`main.ts` under
 * `deno run`, `serve.ts` under `deno serve`): the settings read from flags
 * and the environment, and a start refused with one line on stderr and exit
 * code 2, so the operator sees at once what to fix.
 *
 * @module
 */

import {
  type Config,
  ConfigError,
  loadConfig,
  type LoadConfigResult,
} from "./config.ts";

/** Exit code of a start refused for a bad setting. */
export const EXIT_BAD_CONFIG = 2;

/** Writes `async-api: <message>` on stderr and exits with code 2. */
export function refuseStart(message: string): never {
  Deno.stderr.writeSync(new TextEncoder().encode(`async-api: ${message}\n`));
  Deno.exit(EXIT_BAD_CONFIG);
}

/** An environment variable; without `--allow-env` for it, unset. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The settings from `args` and the environment; a bad one refuses the
 * start (see {@linkcode refuseStart}).
 */
export function settingsOrExit(args: string[]): LoadConfigResult {
  try {
    return loadConfig({ args, env: readEnv });
  } catch (error) {
    if (error instanceof ConfigError) refuseStart(error.message);
    throw error;
  }
}

/**
 * The one-line reason why `DATA_DIR` cannot be used, when `error` (thrown
 * while building the app) says so (a {@linkcode ConfigError}: the folder
 * cannot be made or read) or is a missing permission; else `undefined`.
 */
export function dataDirRefusal(
  error: unknown,
  dataDir: string,
): string | undefined {
  if (error instanceof ConfigError) return error.message;
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return `cannot use DATA_DIR ${dataDir}: ${error.message}`;
  }
  return undefined;
}

/**
 * The one-line reason when `error` (thrown while building the app) is the
 * runtime failing to read `DENO_CERT`'s file, else `undefined`. The
 * runtime reads it at the first HTTP client made (the S3 bucket's, the
 * upstream's): a path that names no file ended the start with an uncaught
 * error and its stack, exit 1.
 */
export function caFileRefusal(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (!error.message.startsWith("Failed opening CA file")) return undefined;
  return `cannot read DENO_CERT (the PEM file of a CA to trust): ${error.message}`;
}

/**
 * The one-line reason why this runtime cannot listen as the settings ask,
 * else `undefined`. `REUSE_PORT=true` needs `Deno.listen`'s `reusePort`,
 * which Deno 2.9 grants only under `--unstable-net` (or `"unstable":
 * ["net"]` in deno.json): without it the call prints the runtime's own line
 * and exits 70 from inside, so no catch, and no exit-2 refusal naming the
 * setting, ever saw it. The same flag is what gives `Deno.listenDatagram`,
 * so that function's presence tells whether the listen would be allowed.
 */
export function reusePortRefusal(
  config: Pick<Config, "reusePort">,
): string | undefined {
  if (!config.reusePort || Reflect.has(Deno, "listenDatagram")) {
    return undefined;
  }
  return "REUSE_PORT=true (--reuse-port) needs deno run --unstable-net " +
    "(Deno.listen's reusePort is unstable); deno task start passes it";
}
