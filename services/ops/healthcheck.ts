/**
 * `--healthcheck`: the probe a container runs against its own instance
 * (the Dockerfile's HEALTHCHECK; images without curl use it).
 *
 * @module
 */

import type { Config } from "./config.ts";
import { describe } from "./error_chain.ts";

/**
 * `--healthcheck`: asks the instance on HOST:PORT for `/healthz` and exits 0
 * when it answers 200, else 1, saying why on stderr (`docker inspect` shows
 * it; it was empty). Containers without curl use this.
 */
export async function healthcheck(config: Config): Promise<never> {
  const host = ["0.0.0.0", "::", "[::]"].includes(config.host)
    ? "127.0.0.1"
    : config.host.includes(":")
    ? `[${config.host}]`
    : config.host;
  const url = `http://${host}:${config.port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    if (res.status === 200) Deno.exit(0);
    throw new Error(`answered ${res.status}`);
  } catch (error) {
    const line = `async-api: healthcheck ${url}: ${describe(error)}\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(line));
    Deno.exit(1);
  }
}
