/**
 * The `--help` text of the service: usage, then every setting of
 * {@linkcode SETTINGS} with its flag, environment variable and default,
 * then the proxy variables read from the environment only
 * ({@linkcode PROXY_SETTINGS}).
 *
 * @module
 */

import { PROXY_SETTINGS } from "./proxy_settings.ts";
import { SETTINGS } from "./settings.ts";

/** A default as `--help` shows it: none, or empty, in words. */
function shownDefault(value: string | undefined): string {
  if (value === undefined) return "(unset)";
  return value === "" ? "(empty)" : value;
}

/** The `--help` text: usage and every setting with its flag and default. */
export function helpText(): string {
  const rows = SETTINGS.flatMap((s) => [
    `  --${s.flag} <value>   env ${s.env}   default ${shownDefault(s.default)}`,
    `      ${s.help}`,
  ]);
  const envOnly = PROXY_SETTINGS.flatMap((s) => [
    `  env ${s.names.join(", ")}   default (unset)`,
    `      ${s.help}`,
  ]);
  return [
    "async-api: a cached JSONPlaceholder front and a streaming upload service",
    "",
    "Usage: deno task start [--flag value ...]",
    "       deno run <permissions> main.ts [--flag value ...]",
    "",
    "Each setting comes from its flag, else its environment variable, else",
    "the default. A bad value stops the start with exit code 2.",
    "",
    ...rows,
    "",
    "Read from the environment only, as Deno's fetch reads them:",
    "",
    ...envOnly,
    "",
    "  --healthcheck",
    "      ask the instance on HOST:PORT for /healthz; exit 0 when healthy, else 1",
    "      (for container HEALTHCHECKs, where no curl is at hand)",
    "  -h, --help",
    "      print this help",
  ].join("\n");
}
