/**
 * The entry for `deno serve` and `deno serve --parallel`:
 *
 * ```sh
 * UPSTREAM_URL=http://127.0.0.1:3000 deno serve --parallel --host 127.0.0.1 \
 *   --port 8000 -A serve.ts
 * ```
 *
 * Settings come from the environment only; the listen address from
 * `deno serve`'s own `--host`/`--port` (its host is `0.0.0.0` unless
 * told). Each worker of `--parallel` evaluates this module, so each builds
 * its own app (its own in-memory cache, its own metrics, which `/metrics`
 * merges at scrape time) on the shared `DATA_DIR`; a bad setting stops the
 * worker before it takes a request. `deno serve` owns
 * the listener and the signals: there is no drain of uploads as under
 * `deno run main.ts` (a running upload is stopped at the signal, 503), but
 * once its requests are done the app is closed
 * ({@linkcode closeWhenIdle}), a signal that came while the worker was
 * starting is passed on to `deno serve` once it listens
 * ({@linkcode listenForStop}), and when its listener fails the process
 * exits 1 ({@linkcode exitOneWhenTheListenerEnds}).
 *
 * @module
 */

import { createApp } from "./routes/app.ts";
import { logUnhandledRejections } from "./services/http/request_scope.ts";
import { describeConfig } from "./services/ops/config.ts";
import { collectGarbage } from "./services/ops/collect_garbage.ts";
import { createLogger } from "./services/ops/logger.ts";
import { exitAfterLines } from "./services/ops/exit_after_lines.ts";
import { stopReadingBodies } from "./services/http/slow_bodies.ts";
import { cutOpenBodies, openBodies } from "./services/http/send_tally.ts";
import {
  caFileRefusal,
  dataDirRefusal,
  refuseStart,
  settingsOrExit,
} from "./services/ops/startup.ts";

// How often a closing worker looks whether its requests are done.
const IDLE_POLL_MS = 50;
// Past the grace, the time left for the requests whose upstream calls were
// ended to send their answers (main.ts's STOP_UPLOADS_MS).
const STOPPED_ANSWERS_MS = 2_000;

const settings = settingsOrExit([]);
if (settings.help) throw new Error("unreachable: no flags under deno serve");
const { config } = settings;
const logger = createLogger({ level: config.logLevel });
// For the life of the worker: `deno serve` has no end for us to undo it.
logUnhandledRejections(logger);
const stop = listenForStop();
const started = giveUpTheStartPastTheGrace();
const app = await createApp({ config, logger }).catch((error: unknown) => {
  const refusal = dataDirRefusal(error, config.dataDir) ??
    caFileRefusal(error);
  if (refusal !== undefined) refuseStart(refusal);
  throw error;
});
started();
// /metrics of the whole process, whichever worker takes the scrape: each
// worker keeps its own figures, merged at scrape time (worker_metrics.ts).
app.metrics.shareWithWorkers();
// The start's garbage goes before the first request (collect_garbage.ts).
collectGarbage();
exitOneWhenTheListenerEnds();

/**
 * `deno serve` owns the listener, and ends it when `accept()` fails (out of
 * file descriptors: a flood of idle sockets, README "All cores"). This
 * worker then has nothing left to do, and the runtime would exit 0 once
 * every worker stopped, or run on with fewer. Exit 1 at once instead, with
 * an error line, so a supervisor (systemd `Restart=on-failure`, a
 * container's restart policy) restarts the whole process. After SIGTERM or
 * SIGINT, `deno serve`'s own drain, the runtime's exit code stands.
 */
function exitOneWhenTheListenerEnds(): void {
  let ending = false;
  // A signal that came while the app was being built.
  const missed = stop.received;
  void stop.first.then((signal) => {
    ending = true;
    if (missed !== undefined) signalAgain(signal);
    void closeWhenIdle();
  });
  globalThis.addEventListener("unload", () => {
    if (ending) return;
    ending = true;
    logger.errorAtExit("server.stopped", {
      detail: "deno serve's listener ended (accept() failed: out of file " +
        "descriptors?); exiting 1 for a restart",
    });
    Deno.exit(1);
  });
}

/** The first SIGTERM or SIGINT the worker was sent. */
interface StopSignal {
  /** Resolves with it. */
  readonly first: Promise<Deno.Signal>;
  /** It, once it came. */
  readonly received: Deno.Signal | undefined;
}

/**
 * Listens for SIGTERM and SIGINT from the worker's first moment, while its
 * app is still being built. A signal goes to the listeners there are when
 * it comes, and `deno serve` listens for a worker's only once the worker's
 * module has run: a worker still starting missed the signal the others
 * took (their listeners also keep the process from the signal's default
 * end), then served on for good. 2 of 6 `deno serve --parallel` sent
 * SIGTERM right after the first answer ran on until SIGKILL.
 *
 * Registered first, these listeners also run before `deno serve`'s, whose
 * shutdown cuts the request bodies still arriving: the write whose JSON
 * body was cut answered 400 "Invalid JSON body", blaming the client, and
 * the read's error (`BadResource`) is the one a client closing mid-body
 * gives. Those bodies are ended here first, and answered 503 with
 * `Retry-After` (README, Shutdown).
 */
function listenForStop(): StopSignal {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  let received: Deno.Signal | undefined;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      if (received === undefined) {
        stopReadingBodies();
        // Each worker says it took the signal (main.ts's line of the same
        // name): what a test, or an operator, waits for before the rest.
        logger.always("shutdown.begin", {
          signal,
          graceMs: config.shutdownGraceMs,
        });
      }
      received ??= signal;
      resolve(signal);
    });
  }
  return {
    first: promise,
    get received() {
      return received;
    },
  };
}

/**
 * A SIGTERM or SIGINT that comes while the app is being built waits for
 * the build ({@linkcode signalAgain}), which a store that does not answer
 * holds: the start's sweep of the bucket waited S3_TIMEOUT_MS, so the
 * process exited 31 s after SIGTERM (30 s, the default; 60 s with 60 s),
 * past any supervisor's patience. The build is given what the other
 * workers are, SHUTDOWN_GRACE_MS and the time for their stopped answers;
 * past that the process exits 0 (`Deno.exit` in a worker ends every
 * worker, whose drains had that long). Returns what to call once built.
 */
function giveUpTheStartPastTheGrace(): () => void {
  let built = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  void stop.first.then((signal) => {
    if (built) return;
    timer = setTimeout(() => {
      logger.warn("server.start_abandoned", {
        signal,
        detail: `${signal} came while this worker was starting, and the ` +
          "start (the store? Redis?) took longer than SHUTDOWN_GRACE_MS; " +
          "exiting",
      });
      // Not Deno.exit at once: the line was lost when a write of the log
      // was in flight (exit_after_lines.ts).
      void exitAfterLines(logger, 0);
    }, config.shutdownGraceMs + STOPPED_ANSWERS_MS);
  });
  return () => {
    built = true;
    clearTimeout(timer);
  };
}

/**
 * Sends the process `signal` again once `deno serve` has started this
 * worker's server and listens for it (right after the module has run), so
 * that it shuts that server down as it did the others'. The other workers
 * take it as a repeat: `deno serve` stopped listening after the first one,
 * and {@linkcode exitOneWhenTheListenerEnds} acts on the first only.
 */
function signalAgain(signal: Deno.Signal): void {
  setTimeout(() => {
    try {
      Deno.kill(Deno.pid, signal);
    } catch (error) {
      // Without --allow-run: say so, the worker will serve on.
      logger.error("server.signal_missed", {
        detail: `${signal} came while this worker was starting and cannot ` +
          "be passed on to deno serve; stop the process again",
        error,
      });
    }
  }, 0);
}

/**
 * After SIGTERM or SIGINT, `deno serve` closes its listener and lets the
 * requests in flight finish, and the worker ends once nothing is left to
 * do; but the app's own connections and timers (Redis's connections and
 * pings, the S3 sweep) would keep it alive for ever: with REDIS_URL the
 * process never exited. Close the app once no request is in flight (or
 * after SHUTDOWN_GRACE_MS), which lets the worker end. Requests still
 * waiting on the upstream then have their calls ended (503, as under
 * main.ts): `deno serve` waited for them, so a hung upstream held the
 * process up to UPSTREAM_TIMEOUT_MS past the grace (29 s with 30 s).
 */
async function closeWhenIdle(): Promise<void> {
  const began = performance.now();
  app.beginDrain();
  // deno serve's shutdown cuts the request bodies still arriving, so an
  // upload cannot finish: stopped now, it answers 503 with Retry-After
  // (nothing kept), where the cut body answered 400 'Upload aborted',
  // blaming the client.
  app.abortUploads();
  // Monotonic: counted by the wall clock, a step of it (NTP, `date -s`)
  // cut the grace short or held the worker an hour more.
  const deadline = performance.now() + config.shutdownGraceMs;
  await untilIdle(deadline);
  const outcome = app.inflight > 0 ? "timeout" : "drained";
  if (app.inflight > 0) {
    app.stopUpstreamCalls();
    await untilIdle(performance.now() + STOPPED_ANSWERS_MS);
  }
  // Bodies still being sent (downloads) are cut at the grace's end: deno
  // serve waits for them, so a slow client held the worker until its last
  // byte (3 min past a 2 s grace with a 200 MB file read at 1 MB/s).
  await untilIdle(deadline, openBodies);
  cutOpenBodies();
  // A background refresh on a hung upstream held close() (and the worker)
  // until UPSTREAM_TIMEOUT_MS: it has what is left of the grace. The timer
  // is cleared after: left running, it held the closed worker that long.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const left = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
  });
  await Promise.race([app.cache.settled(), left]);
  clearTimeout(timer);
  app.stopUpstreamCalls();
  await app.close();
  // main.ts's closing line: without it a worker's drain had a beginning
  // and no end in the log, a finished one not told from a hung one.
  logger.always("shutdown.end", {
    outcome,
    durationMs: Math.round(performance.now() - began),
  });
  await logger.written();
}

/**
 * Resolves once `busy()` (by default, the requests in flight) is 0, or at
 * `deadline` (`performance.now()` ms).
 */
async function untilIdle(
  deadline: number,
  busy = () => app.inflight,
): Promise<void> {
  while (busy() > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
  }
}

/**
 * The settings in force: PORT, HOST and REUSE_PORT are not, `deno serve`
 * listens.
 */
function servedSettings(): Record<string, unknown> {
  const { port: _port, host: _host, reusePort: _reusePort, ...rest } =
    describeConfig(config);
  return rest;
}

export default {
  fetch: app.fetch,
  onListen(addr: Deno.Addr) {
    // Only the first worker of `--parallel` is told.
    logger.always("listening", {
      url: addr.transport === "tcp"
        ? `http://${addr.hostname}:${addr.port}`
        : undefined,
      pid: Deno.pid,
      deno: Deno.version.deno,
      settings: servedSettings(),
    });
  },
} satisfies Deno.ServeDefaultExport;
