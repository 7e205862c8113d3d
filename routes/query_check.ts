/**
 * Every route whose OpenAPI operation declares query parameters gets them
 * checked before its handler runs: a value outside the declared schema
 * (type, `minimum`, `maximum`, `enum`, ...) is a 400 problem, exactly as the
 * document says, instead of being passed on to the upstream; and so is a
 * parameter the operation refuses by name (`refusedQuery`).
 *
 * @module
 */

import {
  type OperationDescription,
  operationKey,
} from "../services/ops/openapi.ts";
import { OPERATIONS } from "./openapi.ts";
import { queryChecker } from "../services/http/parameters.ts";
import { problem } from "../services/http/problem.ts";
import type { Route, RouteContext } from "./router.ts";

/**
 * `routes` with each handler preceded by the query check of its operation
 * in `operations`. Routes without declared or refused query parameters
 * are returned as they are. Throws a `TypeError` if a declared schema cannot be enforced.
 */
export function withQueryChecks(
  routes: readonly Route[],
  operations: Readonly<Record<string, OperationDescription>> = OPERATIONS,
): Route[] {
  return routes.map((route) => {
    const operation = operations[operationKey(route)];
    const parameters = operation?.parameters ?? [];
    const refused = operation?.refusedQuery;
    if (!parameters.some((p) => p.in === "query") && refused === undefined) {
      return route;
    }
    const checkParams = queryChecker(
      parameters,
      refused === undefined ? {} : { refused },
    );
    // Most requests carry no query: its verdict is worked out once.
    const withoutQuery = checkParams(new URLSearchParams());
    const { query = (ctx: RouteContext) => ctx.query } = route;
    const check = (ctx: RouteContext) =>
      ctx.search === "" ? withoutQuery : checkParams(query(ctx));
    const { handler, atOnce } = route;
    return {
      ...route,
      handler: (req, ctx) => {
        const detail = check(ctx);
        if (detail === undefined) return handler(req, ctx);
        return problem(400, {
          title: "Invalid query parameter",
          detail,
          instance: ctx.url.pathname,
        });
      },
      // A query that fails the checks is left to the handler (its 400).
      ...(atOnce === undefined ? {} : {
        atOnce: (req: Request, ctx: RouteContext) =>
          check(ctx) === undefined ? atOnce(req, ctx) : undefined,
      }),
    };
  });
}
