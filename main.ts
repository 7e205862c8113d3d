/**
 * Entry point of async-api. Run it with `deno task start` (or
 * `deno run <permissions> main.ts --help`): it reads the settings, builds the
 * app, serves it (`services/server/http_server.ts`: `Deno.serve`'s request handling
 * with a connection cap and header/keep-alive timeouts), and on
 * SIGINT/SIGTERM drains in-flight work within `SHUTDOWN_GRACE_MS` before
 * exiting 0.
 *
 * It also works under `deno serve` (and `deno serve --parallel`) through its
 * default export; settings then come from the environment only.
 *
 * @module
 */

import { type App, createApp } from "./routes/app.ts";
import {
  type Config,
  ConfigError,
  describeConfig,
  helpText,
  loadConfig,
} from "./services/ops/config.ts";
import {
  ConnectionStats,
  type GuardedServer,
  serveGuarded,
} from "./services/server/http_server.ts";
import { createLogger, type Logger } from "./services/ops/logger.ts";
import { problem } from "./services/http/problem.ts";
import { logUnhandledRejections } from "./services/http/request_scope.ts";

/** Exit code of a start refused for a bad setting. */
export const EXIT_BAD_CONFIG = 2;

// Past the grace period, the time left for stopped uploads to remove their
// `.part` and send their 503 before the process exits.
const STOP_UPLOADS_MS = 2_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fail(message: string): never {
  // A one-line message on stderr: the operator sees what to fix at once.
  Deno.stderr.writeSync(new TextEncoder().encode(`async-api: ${message}\n`));
  Deno.exit(EXIT_BAD_CONFIG);
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // Without --allow-env for this name, act as if it were unset.
    return undefined;
  }
}

function configFrom(args: string[]): Config & { healthcheck?: true } {
  try {
    const result = loadConfig({ args, env: readEnv });
    if (result.help) {
      Deno.stdout.writeSync(new TextEncoder().encode(helpText() + "\n"));
      Deno.exit(0);
    }
    return result.healthcheck
      ? { ...result.config, healthcheck: true }
      : result.config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/**
 * `--healthcheck`: asks the instance on HOST:PORT for `/healthz` and exits 0
 * when it answers 200, else 1. Containers without curl use this.
 */
async function healthcheck(config: Config): Promise<never> {
  const host = ["0.0.0.0", "::", "[::]"].includes(config.host)
    ? "127.0.0.1"
    : config.host.includes(":")
    ? `[${config.host}]`
    : config.host;
  try {
    const res = await fetch(`http://${host}:${config.port}/healthz`, {
      signal: AbortSignal.timeout(3000),
    });
    await res.body?.cancel();
    Deno.exit(res.status === 200 ? 0 : 1);
  } catch {
    Deno.exit(1);
  }
}

/** Runs the server until a signal, then drains and resolves. */
export async function serve(
  config: Config,
  logger: Logger,
): Promise<void> {
  using _rejections = logUnhandledRejections(logger);
  let app: App;
  const connections = new ConnectionStats();
  try {
    app = await createApp({ config, logger, connections });
  } catch (error) {
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      fail(
        `cannot use DATA_DIR ${config.dataDir}: ${(error as Error).message}`,
      );
    }
    throw error;
  }
  let server: GuardedServer;
  try {
    server = serveGuarded({
      hostname: config.host,
      port: config.port,
      handler: app.fetch,
      onError: (error) => {
        // app.fetch answers its own failures; this is for the unforeseen.
        logger.error("request.unhandled", { error });
        return problem(500, {
          detail: "The server failed to handle the request",
        });
      },
      logger,
      maxConnections: config.maxConnections,
      headerTimeoutMs: config.headerTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      stats: connections,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        logger.info("listening", {
          url: `http://${host}:${port}`,
          pid: Deno.pid,
          deno: Deno.version.deno,
          settings: describeConfig(config),
        });
      },
    });
  } catch (error) {
    await app.close();
    if (error instanceof Deno.errors.AddrInUse) {
      fail(`PORT ${config.port} on ${config.host} is already in use`);
    }
    if (error instanceof Deno.errors.NotCapable) {
      fail(
        `not permitted to listen on ${config.host}:${config.port}: ${
          (error as Error).message
        }`,
      );
    }
    throw error;
  }

  const { promise: stop, resolve } = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  const listeners = signals.map((signal) => {
    const listener = () => resolve(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });

  const signal = await stop;
  for (const [name, listener] of listeners) {
    Deno.removeSignalListener(name, listener);
  }
  // A second signal while draining means "now".
  for (const name of signals) {
    Deno.addSignalListener(name, () => {
      logger.warn("shutdown.forced", { signal: name });
      Deno.exit(1);
    });
  }
  await drain(app, server, config, logger, signal);
}

async function drain(
  app: App,
  server: GuardedServer,
  config: Config,
  logger: Logger,
  signal: string,
): Promise<void> {
  const started = performance.now();
  logger.info("shutdown.begin", {
    signal,
    inflight: app.inflight,
    graceMs: config.shutdownGraceMs,
  });
  app.beginDrain();
  const deadline = AbortSignal.timeout(config.shutdownGraceMs);
  const timedOut = new Promise<"timeout">((resolve) =>
    deadline.addEventListener("abort", () => resolve("timeout"), {
      once: true,
    })
  );
  // shutdown() cuts off request bodies still arriving, so uploads are let
  // finish first (new ones get 503 meanwhile); then shutdown() stops
  // accepting connections and waits for the responses in flight.
  let outcome = await Promise.race([
    app.uploads.idle().then(() => "drained" as const),
    timedOut,
  ]);
  if (outcome === "drained") {
    outcome = await Promise.race([
      server.shutdown().then(() => "drained" as const),
      timedOut,
    ]);
  }
  if (outcome === "timeout") {
    logger.warn("shutdown.grace_expired", {
      inflight: app.inflight,
      uploads: app.uploads.active,
    });
    await stopUploads(app, server);
  }
  await app.close();
  logger.info("shutdown.end", {
    outcome,
    durationMs: Math.round(performance.now() - started),
  });
}

/**
 * Uploads still running when the grace period ran out would be cut off by
 * the exit with no answer and leave their `.part`: stop them (each answers
 * 503 with `Connection: close` and removes its `.part`), then give the
 * answers a moment to go out.
 */
async function stopUploads(app: App, server: GuardedServer): Promise<void> {
  if (app.uploads.active === 0) return;
  app.abortUploads();
  const waited = delay(STOP_UPLOADS_MS);
  await Promise.race([app.uploads.idle(), waited]);
  // shutdown() resolves once the answers in flight are sent.
  await Promise.race([server.shutdown(), waited]);
}

let declarative = false;

/**
 * The `deno serve` entry: `deno serve --parallel main.ts` runs this handler
 * in every worker, each with its own in-memory cache.
 */
export default {
  async fetch(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
    return await (await declarativeApp()).fetch(req, info);
  },
  onListen(addr: Deno.Addr) {
    declarative = true;
    // Build the app now, so a bad setting stops the start, not a request.
    declarativeApp().then(({ logger }) =>
      logger.info("listening", {
        url: addr.transport === "tcp"
          ? `http://${addr.hostname}:${addr.port}`
          : undefined,
        pid: Deno.pid,
      })
    );
  },
} satisfies Deno.ServeDefaultExport;

let lazyApp: Promise<{ fetch: App["fetch"]; logger: Logger }> | undefined;
function declarativeApp(): Promise<{ fetch: App["fetch"]; logger: Logger }> {
  if (!lazyApp) {
    const config = configFrom([]);
    const logger = createLogger({ level: config.logLevel });
    // For the life of the worker: `deno serve` has no end for us to undo it.
    logUnhandledRejections(logger);
    lazyApp = createApp({ config, logger }).then((app) => ({
      fetch: app.fetch,
      logger,
    }));
  }
  return lazyApp;
}

if (import.meta.main) {
  // `deno serve` calls Deno.serve for the default export in every worker
  // before any timer fires (onListen, though, only in the first worker of
  // `--parallel`); under `deno run` nothing does, and this module serves by
  // itself.
  const runtimeServe = Object.getOwnPropertyDescriptor(Deno, "serve")!;
  const original = Deno.serve;
  Object.defineProperty(Deno, "serve", {
    configurable: true,
    writable: true,
    value: function (...args: unknown[]) {
      declarative = true;
      return (original as (...args: unknown[]) => unknown).apply(Deno, args);
    },
  });
  setTimeout(async () => {
    Object.defineProperty(Deno, "serve", runtimeServe);
    if (declarative) return;
    const config = configFrom(Deno.args);
    if (config.healthcheck) await healthcheck(config);
    await serve(config, createLogger({ level: config.logLevel }));
    Deno.exit(0);
  }, 0);
}
