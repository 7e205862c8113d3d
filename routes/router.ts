/**
 * The route table: method + URLPattern pathname -> handler. Resolves a
 * request to a handler, or to 404 (no pattern matches) or 405 with `Allow`
 * (a pattern matches but not the method), or 501 for a method no route of
 * the service could take (services/http/methods.ts). `HEAD` is served by the `GET`
 * handler wherever there is one, and `OPTIONS` (and CORS preflights) by
 * the router itself (services/http/cors.ts) wherever a route declares none;
 * so is `OPTIONS *`, about the server as a whole ({@linkcode SERVER_ROUTE}).
 *
 * @module
 */

import { isPreflight, optionsAnswer } from "../services/http/cors.ts";
import { allowOf, KNOWN_METHODS } from "../services/http/methods.ts";
import { problem } from "../services/http/problem.ts";
import type { Reply } from "../services/http/reply.ts";

/** Per-request context handed to every handler. */
export interface RouteContext {
  /** The request's method (read once: each read is a checked call). */
  readonly method: string;
  /** Named groups of the matched pattern. */
  params: Readonly<Record<string, string>>;
  /** The parsed request URL (built when first read). */
  readonly url: URL;
  /** The URL's path, as `url.pathname` gives it (without building it). */
  readonly pathname: string;
  /** The URL's query, as `url.search` gives it (`""` for none). */
  readonly search: string;
  /**
   * The query's parameters, read as json-server reads them (a piece with
   * `]=` cut after the `]`: services/http/qs_query.ts); the query check
   * and every route read these, never `url.searchParams`, unless the route
   * reads its query its own way ({@linkcode Route.query}).
   */
  readonly query: URLSearchParams;
  /** The request's URL as `Request.url` gives it (read once). */
  readonly href: string;
  /**
   * The origin the client asked, for absolute URLs: `href`'s, its scheme
   * from the proxy's header when `TRUST_FORWARDED_PROTO` names one.
   */
  readonly publicOrigin: string;
  /**
   * The request's headers, read once: each `req.headers` is a checked call
   * into the runtime, so the layers after routing read them here.
   */
  readonly headers: Headers;
  /** The request id (echoed as `X-Request-Id`). */
  requestId: string;
  /** `performance.now()` when the request came in. */
  readonly started: number;
  /** The matched route pattern (`/posts/:id`), or `undefined` before routing. */
  route: string | undefined;
  /** Fields a handler adds to the request's log line (e.g. `cache`). */
  log: Record<string, unknown>;
  /**
   * The client's IP address (per-client limits): the peer's, or past a
   * trusted proxy the one it forwarded (`TRUSTED_PROXIES`), an IPv6 one as
   * its /64 (`clientKey`); unknown on a Unix socket.
   */
  readonly remoteAddress?: string | undefined;
}

/**
 * A route handler: a plain function from request to response, or to a
 * {@linkcode Reply} that the pipeline makes into one (the hot path).
 */
export type Handler = (
  req: Request,
  ctx: RouteContext,
) => Response | Reply | Promise<Response | Reply>;

/**
 * The part of a route that answers from memory: its answer when it can
 * answer at once, else `undefined` (then the handler runs). It must start
 * no asynchronous work: the router calls it outside the request's scope
 * (see routes/pipeline.ts), which is what makes it cheap.
 */
export type AtOnce = (
  req: Request,
  ctx: RouteContext,
) => Response | Reply | undefined;

/** One entry of the route table. */
export interface Route {
  /** An HTTP method in upper case. */
  method: string;
  /** A URLPattern pathname, e.g. `/posts/:id`. */
  pattern: string;
  /** The handler. */
  handler: Handler;
  /** Answers from memory, when it can (the hot path of a cached GET). */
  atOnce?: AtOnce;
  /**
   * The route's reading of its query, when it is not json-server's
   * (`ctx.query`); the query check reads the query the same way. The
   * purge's values are paths, not `qs` structures: read as a form is.
   */
  query?: (ctx: RouteContext) => URLSearchParams;
  /**
   * What the route's path with trailing slashes gets: a 308 to the path
   * (one URL per resource), or the route itself (`same`: an upload, whose
   * body a redirect would have the client send again, and `curl -T - URL/`
   * from a pipe cannot, so it stored nothing). @default {"redirect"}
   */
  trailingSlash?: "redirect" | "same";
}

interface Compiled {
  pattern: string;
  urlPattern: URLPattern;
  handlers: Map<string, Route>;
  allow: string;
}

/** What {@linkcode Router.match} found. */
export type Match =
  | {
    kind: "found";
    handler: Handler;
    atOnce: AtOnce | undefined;
    pattern: string;
    params: Readonly<Record<string, string>>;
    trailingSlash: "redirect" | "same";
  }
  | { kind: "not_found" }
  | { kind: "method_not_allowed"; pattern: string; allow: string };

/**
 * The route (for logs and metrics) of `OPTIONS *` (asterisk-form, RFC 9112
 * 3.2.4), which Deno 2.9 hands over with the path `/*` (as it would
 * `OPTIONS /*`, which no route has either).
 */
export const SERVER_ROUTE = "*";

function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path : path.slice(0, end);
}

// Most traffic hits a small set of paths again and again; remembering their
// match skips URLPattern's comparatively slow exec on the hot path. Bounded,
// and cleared whole when full, so odd paths cannot grow it without limit.
const MATCH_MEMO_SIZE = 4096;
// Bounded in bytes too, by remembering short paths only (hot ones are): a
// request head may be 64 KiB, and 3800 distinct 60 KB 404 paths kept 223 MiB
// of heap here (RSS 104 -> 440 MiB; bench/SOAK.md). The method counts too.
const MATCH_MEMO_MAX_CHARS = 256;

/** A compiled route table. */
export class Router {
  readonly #bySegment = new Map<string, Compiled[]>();
  readonly #memo = new Map<string, Map<string, Match>>();
  #memoSize = 0;
  readonly #routes: readonly Route[];
  /** Every method some route takes: `OPTIONS *`'s `Allow`. */
  readonly #serverAllow: string;

  constructor(routes: readonly Route[]) {
    this.#routes = routes;
    const byPattern = new Map<string, Compiled>();
    for (const route of routes) {
      if (!route.pattern.startsWith("/")) {
        throw new TypeError(`pattern must start with "/": ${route.pattern}`);
      }
      let compiled = byPattern.get(route.pattern);
      if (!compiled) {
        compiled = {
          pattern: route.pattern,
          urlPattern: new URLPattern({ pathname: route.pattern }),
          handlers: new Map(),
          allow: "",
        };
        byPattern.set(route.pattern, compiled);
        // Index by the literal first segment: matching then tries a handful
        // of patterns instead of the whole table, which keeps routing cheap
        // on the hot path.
        const key = firstSegment(route.pattern);
        if (key.includes(":") || key.includes("*")) {
          throw new TypeError(
            `first segment must be literal: ${route.pattern}`,
          );
        }
        const list = this.#bySegment.get(key) ?? [];
        list.push(compiled);
        this.#bySegment.set(key, list);
      }
      const method = route.method.toUpperCase();
      if (compiled.handlers.has(method)) {
        throw new TypeError(`duplicate route: ${method} ${route.pattern}`);
      }
      compiled.handlers.set(method, route);
    }
    for (const compiled of byPattern.values()) {
      compiled.allow = allowOf(compiled.handlers.keys());
    }
    this.#serverAllow = allowOf(routes.map((route) => route.method));
  }

  /** The routes this router was built from. */
  get routes(): readonly Route[] {
    return this.#routes;
  }

  /** Resolves `method` and `pathname` against the table. */
  match(method: string, pathname: string): Match {
    // By method, then path: a key joining the two would be a new string
    // to build and hash on every request.
    let byPath = this.#memo.get(method);
    let match = byPath?.get(pathname);
    if (match === undefined) {
      match = this.#match(method, pathname);
      if (method.length + pathname.length > MATCH_MEMO_MAX_CHARS) return match;
      if (this.#memoSize >= MATCH_MEMO_SIZE) {
        this.#memo.clear();
        this.#memoSize = 0;
        byPath = undefined;
      }
      if (byPath === undefined) this.#memo.set(method, byPath = new Map());
      byPath.set(pathname, match);
      this.#memoSize++;
    }
    return match;
  }

  #match(method: string, pathname: string): Match {
    const candidates = this.#bySegment.get(firstSegment(pathname));
    if (!candidates) return { kind: "not_found" };
    for (const compiled of candidates) {
      const result = compiled.urlPattern.exec({ pathname });
      if (!result) continue;
      const route = compiled.handlers.get(method) ??
        (method === "HEAD" ? compiled.handlers.get("GET") : undefined);
      if (!route) {
        return {
          kind: "method_not_allowed",
          pattern: compiled.pattern,
          allow: compiled.allow,
        };
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.pathname.groups)) {
        if (value !== undefined) params[name] = value;
      }
      // Frozen: a memoised match is shared by every request on this path.
      Object.freeze(params);
      return {
        kind: "found",
        handler: route.handler,
        atOnce: route.atOnce,
        pattern: compiled.pattern,
        params,
        trailingSlash: route.trailingSlash ?? "redirect",
      };
    }
    return { kind: "not_found" };
  }

  /**
   * 404, or, when the path is a route but for trailing slashes (`/posts/`,
   * which JSONPlaceholder answers as `/posts`), a 308 to it: one URL per
   * resource (and one cache entry), and the method and body kept. A CORS
   * preflight of such a path is answered as the route's own: a browser
   * follows no redirect of a preflight (the write from a page then fails
   * with "Redirect is not allowed for a preflight request"), but follows
   * the 308 of the request itself, preflighting its target.
   */
  #notFound(req: Request, ctx: RouteContext): Response {
    const match = this.#bareMatch(ctx.method, ctx.pathname);
    if (match === undefined || match.kind === "not_found") {
      return problem(404, {
        detail: `No route for ${ctx.url.pathname}`,
        instance: ctx.url.pathname,
      });
    }
    if (match.kind === "method_not_allowed" && isPreflight(req)) {
      ctx.route = match.pattern;
      return optionsAnswer(req, match.allow, ctx.url.pathname);
    }
    return new Response(null, {
      status: 308,
      headers: { location: ctx.pathname.replace(/\/+$/, "") + ctx.search },
    });
  }

  /**
   * The match of `pathname` without its trailing slashes, when it has some
   * and is then a path of this origin's (not `//host`), else `undefined`.
   */
  #bareMatch(method: string, pathname: string): Match | undefined {
    const bare = pathname.replace(/\/+$/, "");
    return bare !== pathname && bare !== "" && !bare.startsWith("//")
      ? this.match(method, bare)
      : undefined;
  }

  /** `pathname`'s match: its own, or its route's that takes it slashed. */
  #routed(method: string, pathname: string): Match {
    const match = this.match(method, pathname);
    if (match.kind !== "not_found") return match;
    const bare = this.#bareMatch(method, pathname);
    return bare?.kind === "found" && bare.trailingSlash === "same"
      ? bare
      : match;
  }

  /**
   * Routes `req`, answering 404, 405 and 501 itself. The matched route's
   * `atOnce` is asked first, as it is; its handler runs inside `scope`
   * (the pipeline's request scope). Not async: an answer given at once (a
   * memory hit) goes on at once.
   */
  handle(
    req: Request,
    ctx: RouteContext,
    scope: <T>(ctx: RouteContext, run: () => T) => T = (_ctx, run) => run(),
  ): Response | Reply | Promise<Response | Reply> {
    const { method } = ctx;
    const match = this.#routed(method, ctx.pathname);
    if (match.kind !== "found" && !KNOWN_METHODS.has(method)) {
      return problem(501, {
        detail: `${method} is not a method this service supports`,
        instance: ctx.url.pathname,
      });
    }
    if (match.kind === "not_found") {
      if (method === "OPTIONS" && ctx.pathname === "/*") {
        ctx.route = SERVER_ROUTE;
        return optionsAnswer(req, this.#serverAllow, "*");
      }
      return this.#notFound(req, ctx);
    }
    if (match.kind === "method_not_allowed") {
      ctx.route = match.pattern;
      if (method === "OPTIONS") {
        return optionsAnswer(req, match.allow, ctx.url.pathname);
      }
      return problem(405, {
        detail: `${method} is not allowed on ${match.pattern}`,
        instance: ctx.url.pathname,
        allow: match.allow.split(", "),
      }, { headers: { allow: match.allow } });
    }
    ctx.route = match.pattern;
    ctx.params = match.params;
    return match.atOnce?.(req, ctx) ??
      scope(ctx, () => match.handler(req, ctx));
  }
}
