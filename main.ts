/**
 * Entry point of async-api under `deno run`. Run it with `deno task start`
 * (or `deno run <permissions> main.ts --help`): it reads the settings, builds
 * the app, serves it (`services/server/http_server.ts`: `Deno.serve`'s
 * request handling with a connection cap and header/keep-alive timeouts),
 * and on SIGINT/SIGTERM/SIGHUP drains in-flight work within `SHUTDOWN_GRACE_MS`
 * before exiting 0.
 *
 * For `deno serve` (and `deno serve --parallel`) the entry is `serve.ts`.
 * This module has no default export, so `deno serve main.ts` is refused by
 * Deno itself ("deno serve requires export default { fetch } in the main
 * module") and nothing listens on `deno serve`'s port; the module then goes
 * on as under `deno run`, on `PORT`.
 *
 * @module
 */

import { type App, createApp } from "./routes/app.ts";
import {
  type Config,
  describeConfig,
  helpText,
} from "./services/ops/config.ts";
import {
  ConnectionStats,
  type GuardedServer,
  internalErrorAnswer,
  serveGuarded,
} from "./services/server/http_server.ts";
import { collectGarbage } from "./services/ops/collect_garbage.ts";
import { createLogger, type Logger } from "./services/ops/logger.ts";
import { exitAfterLines } from "./services/ops/exit_after_lines.ts";
import { logUnhandledRejections } from "./services/http/request_scope.ts";
import { isStallTimeout } from "./services/http/stall_timeout.ts";
import { CountedLine } from "./services/ops/counted_line.ts";
import { healthcheck } from "./services/ops/healthcheck.ts";
import { readySignals, untilSignal } from "./services/ops/stop_signals.ts";
import { BodySourceError } from "./services/http/body_source_error.ts";
import { cutOpenBodies, endOpenBodies } from "./services/http/send_tally.ts";
import {
  stopReadingBodies,
  untilBodiesRead,
} from "./services/http/slow_bodies.ts";
import {
  caFileRefusal,
  dataDirRefusal,
  refuseStart,
  reusePortRefusal,
  settingsOrExit,
} from "./services/ops/startup.ts";

export { EXIT_BAD_CONFIG } from "./services/ops/startup.ts";

/**
 * Past the grace period, the time left for stopped uploads to remove their
 * `.part` and send their 503, and for requests whose upstream calls were
 * ended to send their answer, before the process exits.
 */
export const STOP_UPLOADS_MS = 2_000;

// How long a drain keeps serving the kept-alive connections before it
// closes those idle (see untilUploadsEnd).
const DRAIN_IDLE_MS = 1_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the server until a signal, then drains and resolves. */
export async function serve(
  config: Config,
  logger: Logger,
): Promise<void> {
  using _rejections = logUnhandledRejections(logger);
  // While descriptors are free: the setup panics without one.
  readySignals();
  const connections = new ConnectionStats();
  const app = await createApp({ config, logger, connections }).catch(
    (error: unknown) => {
      const refusal = dataDirRefusal(error, config.dataDir) ??
        caFileRefusal(error);
      if (refusal !== undefined) refuseStart(refusal);
      throw error;
    },
  );
  // The start's garbage goes before the first request, not during some
  // upload later (see collect_garbage.ts).
  collectGarbage();
  const server = await listen({ app, config, logger, connections });
  const received = await untilSignal(logger);
  await drain({ app, server, config, logger, received });
}

/**
 * The server's `onError`: logs a failure `app.fetch` did not answer itself
 * and gives the bare 500. A download given up on for a client that read
 * nothing (the send timeout, or out of descriptors) errors its body, which
 * the runtime reports here too: that is the protection at work, where each
 * `slowhttptest -X` reader made an error line with a stack, as if the
 * service had failed. It is counted in one `response.stalled` info line at
 * most every 10 s: the error carries no request, and each request's access
 * line says `"cut":"stalled"` (a line each doubled the flood's log). A
 * body whose source failed (the object store stopped mid-download) is
 * logged with its request's id.
 */
function serveErrorLogger(logger: Logger): (error: unknown) => Response {
  const stalled = new CountedLine<"no_read">({
    logger,
    msg: "response.stalled",
    level: "info",
    countsAs: "stalled",
  });
  return (error) => {
    if (isStallTimeout(error)) stalled.record("no_read");
    else if (error instanceof BodySourceError) {
      const { requestId, path, cause } = error;
      logger.error("response.body_failed", { requestId, path, error: cause });
    } else logger.error("request.unhandled", { error });
    return internalErrorAnswer();
  };
}

/** Options of {@linkcode listen}. */
interface ListenOptions {
  /** What is served. */
  app: App;
  /** HOST, PORT, the connection limits and timeouts. */
  config: Config;
  logger: Logger;
  /** The connection counters the app's metrics read. */
  connections: ConnectionStats;
}

/**
 * Serves `app` on HOST:PORT; a taken port or a missing permission refuses
 * the start (after closing the app).
 */
async function listen(
  { app, config, logger, connections }: ListenOptions,
): Promise<GuardedServer> {
  try {
    return serveGuarded({
      hostname: config.host,
      port: config.port,
      reusePort: config.reusePort,
      handler: app.fetch,
      onError: serveErrorLogger(logger),
      logger,
      maxConnections: config.maxConnections,
      headerTimeoutMs: config.headerTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      maxStreamsPerConnection: config.maxStreamsPerConnection,
      maxHttp2ConnectionsPerClient: config.maxHttp2ConnectionsPerClient,
      maxHttp2Connections: config.maxHttp2Connections,
      // Most of the grace is left to uploads and answers in flight.
      drainIdleMs: Math.max(
        1,
        Math.min(DRAIN_IDLE_MS, Math.floor(config.shutdownGraceMs / 4)),
      ),
      stats: connections,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        logger.always("listening", {
          url: `http://${host}:${port}`,
          pid: Deno.pid,
          deno: Deno.version.deno,
          settings: describeConfig(config),
        });
      },
    });
  } catch (error) {
    await app.close();
    refuseStart(listenRefusal(error, config));
  }
}

/**
 * The one-line reason why HOST:PORT cannot be listened on. Whatever the
 * listen threw is about the address: a taken port, a HOST that does not
 * resolve (a lookup error), is no address of this machine
 * (`AddrNotAvailable`) or is no host at all (`127.0.0.1:9000`, a
 * `URIError`), a port below 1024 for a user that may not bind it.
 */
function listenRefusal(error: unknown, config: Config): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `PORT ${config.port} on ${config.host} is already in use`;
  }
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotCapable) {
    return `not permitted to listen on ${config.host}:${config.port}: ${reason}`;
  }
  return `cannot listen on HOST ${config.host} PORT ${config.port}: ${
    reason.split("\n")[0]
  }`;
}

/** Options of {@linkcode drain}. */
interface DrainOptions {
  app: App;
  /** The server `app` is served by. */
  server: GuardedServer;
  /** `SHUTDOWN_GRACE_MS`. */
  config: Config;
  logger: Logger;
  /** The name of the signal that began the drain, for the log. */
  received: string;
}

/**
 * Lets uploads and answers in flight finish within `SHUTDOWN_GRACE_MS`,
 * stops those still running past it, then closes the app.
 */
async function drain(
  { app, server, config, logger, received }: DrainOptions,
): Promise<void> {
  const started = performance.now();
  // `inflight` counts requests until their answer's head; a download or an
  // event stream still being sent is counted among `connections` only.
  logger.always("shutdown.begin", {
    signal: received,
    inflight: app.inflight,
    connections: server.stats.open,
    graceMs: config.shutdownGraceMs,
  });
  const deadline = AbortSignal.timeout(config.shutdownGraceMs);
  const timedOut = new Promise<"timeout">((resolve) =>
    deadline.addEventListener("abort", () => resolve("timeout"), {
      once: true,
    })
  );
  let outcome = await untilUploadsEnd(app, server, timedOut, logger);
  if (outcome === "drained") {
    outcome = await Promise.race([
      server.shutdown().then(() => "drained" as const),
      timedOut,
    ]);
  }
  if (outcome === "timeout") {
    logger.warn("shutdown.grace_expired", {
      inflight: app.inflight,
      connections: server.stats.open,
      uploads: app.uploads.active,
    });
  } else await Promise.race([app.cache.settled(), timedOut]);
  // The grace is out, or nothing is in flight: what still waits on the
  // upstream is ended, requests (answered 503/504, see stopInflight) and
  // background refreshes alike (one on a hung upstream held close() until
  // UPSTREAM_TIMEOUT_MS, past the grace: 29.9 s with 30 s and 3 s).
  app.stopUpstreamCalls();
  if (outcome === "timeout") await stopInflight(app, server);
  await app.close();
  // Bodies still being sent are cut by the exit: their lines are written
  // now, with what was sent (services/http/send_tally.ts).
  endOpenBodies();
  logger.always("shutdown.end", {
    outcome,
    durationMs: Math.round(performance.now() - started),
  });
}

/**
 * The drain's first part: shutdown() cuts off request bodies still
 * arriving, so uploads and the writes' JSON bodies are let finish first.
 * Meanwhile no connection is taken (a load balancer sends new requests to
 * other instances: before, it kept sending this one its share, and each
 * upload got 503 for as long as a long one ran). The kept-alive
 * connections are served for up to a second more (a quarter of the grace
 * if shorter), each answer with Connection: close, then those still idle
 * are closed: closed at the signal, a write nginx had just sent on one was
 * lost (502; nginx tries no POST elsewhere). Requests taken in that second,
 * uploads too, are served as any; from then on an upload is 503.
 */
async function untilUploadsEnd(
  app: App,
  server: GuardedServer,
  timedOut: Promise<"timeout">,
  logger: Logger,
): Promise<"drained" | "timeout"> {
  const outcome = await Promise.race([
    server.stopAccepting().then(() => "drained" as const),
    timedOut,
  ]);
  app.beginDrain();
  if (outcome === "timeout") return outcome;
  // Where a drain that cut bodies cut them: what is waited for from here
  // (a long drain says what holds it; a test knows the cut is past).
  logger.info("shutdown.waiting", {
    uploads: app.uploads.active,
    inflight: app.inflight,
  });
  // Nor are the writes' JSON bodies still arriving cut (a 400 "Invalid
  // JSON body" at the signal, blaming the client).
  const read = Promise.all([app.uploads.idle(), untilBodiesRead()]);
  return await Promise.race([read.then(() => "drained" as const), timedOut]);
}

/**
 * Uploads still running when the grace period ran out, and requests still
 * waiting on the upstream, would be cut off by the exit with no answer
 * (curl: "Empty reply from server"), the uploads leaving their `.part`:
 * stop them (an upload answers 503 with `Connection: close` and removes
 * its `.part`; a request on the upstream 503, or 504 for a write the
 * upstream had: the drain ended their calls just before), then give the
 * answers a moment to go out.
 */
async function stopInflight(app: App, server: GuardedServer): Promise<void> {
  // A write whose body still arrives: 503, nothing sent on.
  stopReadingBodies();
  if (app.uploads.active === 0 && app.inflight === 0) return;
  app.abortUploads();
  const waited = delay(STOP_UPLOADS_MS);
  await Promise.race([app.uploads.idle(), waited]);
  // shutdown() resolves once the answers in flight are sent, and every
  // download too, which only the exit would end: it held each such drain
  // the whole STOP_UPLOADS_MS (9.05 s after SIGTERM with the image's 7 s
  // grace, of docker stop's 10). The exit cuts them anyway: cut them now.
  cutOpenBodies();
  await Promise.race([server.shutdown(), waited]);
}

/** `deno run main.ts [flags]`: help, a health probe, or the server. */
async function main(args: string[]): Promise<void> {
  const settings = settingsOrExit(args);
  if (settings.help) {
    Deno.stdout.writeSync(new TextEncoder().encode(helpText() + "\n"));
    Deno.exit(0);
  }
  if (settings.healthcheck) await healthcheck(settings.config);
  const { config } = settings;
  // Before the app is built: the folders it makes, the connections it opens.
  const refusal = reusePortRefusal(config);
  if (refusal !== undefined) refuseStart(refusal);
  const logger = createLogger({ level: config.logLevel });
  await serve(config, logger);
  // The last lines (`shutdown.end`) out before the exit.
  await exitAfterLines(logger, 0);
}

if (import.meta.main) main(Deno.args);
