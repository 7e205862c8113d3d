/**
 * The request pipeline every request goes through, around the route table:
 * the request id (kept for everything the route starts), the central error
 * handler around every route (`error_handler.ts`: an unexpected error
 * becomes a problem+json answer, logged with the request id), compression,
 * CORS (services/http/cors.ts: on every answer, errors too), `HEAD`, large
 * answers from memory sent in slices (the last three in `finish.ts`), the
 * span name, a long request body left unread marked so that the server
 * closes its connection after the answer (services/http/connection_close.ts),
 * any body left unread let go once the answer is out
 * (services/http/answered_body.ts),
 * and one metrics sample and one JSON access-log line per
 * request (`access_log.ts`; a streamed body's line at its end). Query checks run inside the router:
 * {@linkcode createPipeline} wraps each route with the checks of its
 * OpenAPI operation.
 *
 * @module
 */

import { ProxyTracerProvider, trace } from "@opentelemetry/api";
import { Compressor } from "../services/http/compression.ts";
import {
  type ForwardedProtoSource,
  publicOrigin,
} from "../services/http/forwarded.ts";
import type { Reply } from "../services/http/reply.ts";
import {
  clientKey,
  plainAddress,
  TrustedProxies,
} from "../services/http/trusted_proxies.ts";
import { withRequestId } from "../services/http/request_scope.ts";
import { announcesLongBody } from "../services/http/body_framing.ts";
import { leavingBodyUnread } from "../services/http/connection_close.ts";
import {
  letGoLingeringBodies,
  letGoOnceAnswered,
} from "../services/http/answered_body.ts";
import { knownMethod, readsNoBody } from "../services/http/methods.ts";
import { servedHeaders } from "../services/http/served_headers.ts";
import { qsParams } from "../services/http/qs_query.ts";
import {
  backslashInPath,
  originOf,
  plainTarget,
  servedHost,
  servedOrigin,
  unreservedDecoded,
} from "../services/http/request_target.ts";
import type { Logger } from "../services/ops/logger.ts";
import type { Metrics } from "../services/ops/metrics.ts";
import { checkWholeNumbers } from "../services/ops/whole_numbers.ts";
import { takeTally } from "../services/http/send_tally.ts";
import { record } from "./access_log.ts";
import { type ErrorLog, errorLogOf, errorResponse } from "./error_handler.ts";
import {
  finish,
  type FinishContext,
  type Finished,
  type FinishOptions,
} from "./finish.ts";
import {
  onPlaceholderHost,
  refusedTargetAnswer,
  type TargetRefusal,
} from "./bad_host.ts";
import { withQueryChecks } from "./query_check.ts";
import { type Route, type RouteContext, Router } from "./router.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// Before routing, and for routes without parameters: one shared record.
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** Honours a well-formed `X-Request-Id` in `headers`, else makes one. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * The client's IP address from `Deno.serve`'s handler info (an IPv4 address
 * mapped into IPv6 is given as IPv4, so both count as one client), or
 * `undefined` when unknown (a Unix socket, or no info).
 */
export function clientAddress(
  info: Deno.ServeHandlerInfo | undefined,
): string | undefined {
  const addr = info?.remoteAddr;
  if (addr?.transport !== "tcp" && addr?.transport !== "udp") return undefined;
  return plainAddress(addr.hostname);
}

/** Options of {@linkcode createPipeline}. */
export interface PipelineOptions {
  /** The route table; each route gets its declared query checks. */
  routes: readonly Route[];
  /** Where access-log lines and 5xx errors go. */
  logger: Logger;
  /** Where request counts, durations and the in-flight gauge go. */
  metrics: Metrics;
  /**
   * How long a client may read nothing of a large answer from memory
   * before its connection is closed, ms (`DOWNLOAD_IDLE_TIMEOUT_MS`; see
   * services/http/large_reply.ts). @default {60000}
   */
  sendTimeoutMs?: number;
  /**
   * The proxy header naming the client's scheme, trusted for absolute URLs
   * (`TRUST_FORWARDED_PROTO`; services/http/forwarded.ts). @default {"off"}
   */
  trustForwardedProto?: ForwardedProtoSource;
  /** Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`). */
  trustedProxies?: readonly string[];
}

/** What a request's context believes of the proxy in front, made once. */
interface ProxyTrust {
  proto: ForwardedProtoSource;
  proxies: TrustedProxies;
}

/** The pipeline: a `fetch` around the router, and its in-flight count. */
export interface Pipeline {
  /**
   * Cancels the request bodies still lingering after their answers
   * (services/http/answered_body.ts): the app's close.
   */
  close(): Promise<void>;
  /**
   * Handles one request from start to access-log line. An answer ready at
   * once (a memory hit, an error) is returned at once, not as a promise;
   * such an answer always holds its whole body (a {@linkcode Reply}'s
   * bytes, or a problem), which the server counts on (see
   * services/server/connection_set.ts). Anything streamed comes as a
   * promise.
   */
  fetch(
    req: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response>;
  /** The route table (with the query checks). */
  readonly router: Router;
  /** Requests being handled right now. */
  readonly inflight: number;
}

/**
 * What finishing every answer needs (`finish.ts`), made once: one record
 * for every request, not one per request. `sendTimeoutMs` is checked.
 */
function finishOptionsOf(
  options: PipelineOptions,
  errorLog: ErrorLog,
): FinishOptions {
  const { sendTimeoutMs = 60_000 } = options;
  checkWholeNumbers({ sendTimeoutMs });
  return { compressor: new Compressor(), errorLog, sendTimeoutMs };
}

/** What every request's context believes of the proxy in front. */
function proxyTrustOf(options: PipelineOptions): ProxyTrust {
  const { trustForwardedProto = "off", trustedProxies } = options;
  return {
    proto: trustForwardedProto,
    proxies: new TrustedProxies(trustedProxies),
  };
}

/** Builds the router from `options.routes` and the pipeline around it. */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { logger, metrics } = options;
  const trust = proxyTrustOf(options);
  // Declared query parameters are checked as the OpenAPI document says.
  const router = new Router(withQueryChecks(options.routes));
  // One error log for the app: its throttled line counts across requests.
  const errorLog = errorLogOf(logger);
  const finishing = finishOptionsOf(options, errorLog);
  // OTEL_DENO=true registers the runtime's providers at start-up; without
  // them no request has a span, and the (version-checked) lookup is skipped.
  const tracing = !(trace.getTracerProvider() instanceof ProxyTracerProvider);
  let inflight = 0;
  const done = () => {
    inflight--;
    metrics.inflight(-1);
  };
  const sent = (req: Request, ctx: RequestContext, out: Finished) => {
    if (tracing) nameSpan(ctx);
    letGoOnceAnswered(req, ctx.method, ctx.info, out.response);
    record(ctx, out, takeTally(req), { logger, metrics });
    return out.response;
  };
  const finished = (
    req: Request,
    ctx: RequestContext,
    answer: Response | Reply,
  ): Response | Promise<Response> => {
    const out = finish(req, ctx, answer, finishing);
    return out instanceof Promise
      ? out.then((out) => sent(req, ctx, out))
      : sent(req, ctx, out);
  };
  // Straight through for an answer given at once (a memory hit): no closure
  // and no promise per request; a later answer goes the same way once settled.
  function fetch(
    req: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response> {
    const ctx = new RequestContext(req, info, trust);
    inflight++;
    metrics.inflight(1);
    const answer = ctx.refused === undefined
      ? answerOf(req, ctx, router, errorLog)
      : refusedTargetAnswer(ctx.refused, ctx.pathname);
    if (answer instanceof Promise) {
      return answer.finally(done).then((answer) => finished(req, ctx, answer));
    }
    done();
    return finished(req, ctx, answer);
  }

  return {
    fetch,
    router,
    close: letGoLingeringBodies,
    get inflight() {
      return inflight;
    },
  };
}

/**
 * The route's answer, or the central error handler's. An answer given at
 * once (a memory hit) is passed on at once: no promise, no turn of the
 * event loop.
 */
function answerOf(
  req: Request,
  ctx: RouteContext,
  router: Router,
  errorLog: ErrorLog,
): Response | Reply | Promise<Response | Reply> {
  let answer;
  try {
    // An answer from memory starts nothing, so it needs no scope (entering
    // one costs about a microsecond). Anything else the route starts, even
    // what it forgets to await, runs with the request id (see
    // services/http/request_scope.ts).
    answer = router.handle(req, ctx, inRequestScope);
  } catch (error) {
    return errorResponse(error, ctx, errorLog);
  }
  return answer instanceof Promise
    ? answer.catch((error) => errorResponse(error, ctx, errorLog))
    : answer;
}

function inRequestScope<T>(ctx: RouteContext, run: () => T): T {
  return withRequestId(ctx.requestId, run);
}

/**
 * A fresh route context: the path and query (a `URL` is built only when a
 * route reads `url`, or when the URL is not plain: see
 * services/http/request_target.ts), the request id, the client address
 * (worked out when first asked: the access line and uploads ask). A class, not an object
 * literal with a getter: V8 builds such a literal on a slow path, about a
 * microsecond per request.
 */
class RequestContext implements FinishContext {
  /** `performance.now()` when the request came in. */
  readonly started = performance.now();
  /**
   * The request's method, read once (each read is a checked call), as
   * the literal of a known method (see `knownMethod`).
   */
  readonly method: string;
  params: Readonly<Record<string, string>> = NO_PARAMS;
  readonly pathname: string;
  readonly search: string;
  readonly href: string;
  readonly headers: Headers;
  readonly requestId: string;
  /** The request's `Origin` (`null` without one: no CORS headers). */
  readonly origin: string | null;
  route: string | undefined = undefined;
  log: Record<string, unknown> = {};
  /**
   * Why the target is refused before routing: the `Host` the client sent
   * (or the authority of its absolute-form target) is no host and port
   * (`a>b`, `u:p@a`), or its path has a backslash (`/posts\..\metrics`).
   */
  refused: TargetRefusal | undefined = undefined;
  /** The runtime's handler info (none for a request built in process). */
  readonly info: Deno.ServeHandlerInfo | undefined;
  readonly #trust: ProxyTrust;
  #url: URL | undefined;
  #query: URLSearchParams | undefined;
  #client: string | undefined | null = null;
  #remoteAddress: string | undefined | null = null;

  constructor(
    req: Request,
    info: Deno.ServeHandlerInfo | undefined,
    trust: ProxyTrust,
  ) {
    this.method = knownMethod(req.method);
    this.href = req.url;
    const plain = plainTarget(this.href);
    if (plain === undefined) {
      const url = URL.parse(this.href);
      // URL reads a backslash in the path as `/`, a proxy in front as a
      // character: it matched its rules on another path than a route's.
      this.refused = url === null || !servedOrigin(originOf(this.href))
        ? "host"
        : backslashInPath(this.href)
        ? "backslash"
        : undefined;
      this.#url = this.refused ? onPlaceholderHost(this.href) : url!;
      this.pathname = this.#url.pathname;
      this.search = this.#url.search;
    } else {
      [this.pathname, this.search] = plain;
    }
    // Read once, by name: reading `req.headers` costs every answer the
    // runtime's slow way (services/http/served_headers.ts).
    const headers = this.headers = servedHeaders(req);
    // The URL alone cannot tell `Host: a/b` from an absolute-form target.
    if (!servedHost(headers.get("host")) && this.refused !== "host") {
      this.refused = "host";
      this.#url = onPlaceholderHost(this.href);
    }
    // `/posts/%31` is `/posts/1` (RFC 3986 6.2.2.2) to the routes; a bad
    // host's 400 names the path as sent. Plain paths have no escapes.
    if (plain === undefined && this.refused === undefined) {
      this.pathname = unreservedDecoded(this.pathname);
      if (this.pathname !== this.#url!.pathname) {
        this.#url!.pathname = this.pathname;
      }
    }
    this.requestId = requestIdOf(headers);
    this.origin = headers.get("origin");
    // Marked now, read by the server once the answer is out.
    if (readsNoBody(this.method) && announcesLongBody(headers)) {
      leavingBodyUnread(req);
    }
    this.info = info;
    this.#trust = trust;
  }

  get publicOrigin(): string {
    return publicOrigin(this.href, this.headers, this.#trust.proto);
  }

  get url(): URL {
    return this.#url ??= new URL(this.href);
  }

  get query(): URLSearchParams {
    return this.#query ??= qsParams(this.url.searchParams, this.search);
  }

  /**
   * The client's address as the access line gives it: the peer's, or
   * behind a trusted proxy the one it names (`TRUSTED_PROXIES`).
   */
  get client(): string | undefined {
    if (this.#client === null) {
      this.#client = this.#trust.proxies.clientOf(
        clientAddress(this.info),
        this.headers,
      );
    }
    return this.#client;
  }

  get remoteAddress(): string | undefined {
    if (this.#remoteAddress === null) {
      const client = this.client;
      this.#remoteAddress = client === undefined ? client : clientKey(client);
    }
    return this.#remoteAddress;
  }
}

/**
 * With OTEL_DENO=true, Deno's server span is active here: name it by the
 * route pattern (bounded), as OpenTelemetry's HTTP conventions ask.
 * Unmatched requests keep the plain method name and no http.route.
 */
function nameSpan(ctx: RequestContext): void {
  if (ctx.route === undefined) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("http.route", ctx.route);
  span.updateName(`${ctx.method} ${ctx.route}`);
}
