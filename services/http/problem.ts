/**
 * RFC 9457 problem details: the one shape every error response of the
 * service takes (`application/problem+json`).
 *
 * @module
 */

/** The JSON body of a problem response. */
export interface ProblemDetails {
  /** A URI naming the problem type; `about:blank` when the status says it all. */
  type?: string;
  /** A short, human-readable summary of the problem type. */
  title?: string;
  /** The HTTP status code. */
  status: number;
  /** A human-readable explanation of this occurrence. */
  detail?: string;
  /** A URI identifying this occurrence (we use the request path). */
  instance?: string;
  /** Extension members. */
  [extension: string]: unknown;
}

/** Media type of problem responses. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  507: "Insufficient Storage",
};

/** The standard reason phrase of `status`, or `"Error"`. */
export function statusTitle(status: number): string {
  return TITLES[status] ?? "Error";
}

/**
 * Builds a problem+json {@linkcode Response}.
 *
 * @example Usage
 * ```ts
 * const res = problem(404, { detail: "No post with id 7" });
 * ```
 */
export function problem(
  status: number,
  details: Omit<ProblemDetails, "status"> = {},
  init: { headers?: HeadersInit } = {},
): Response {
  const body: ProblemDetails = {
    type: "about:blank",
    title: statusTitle(status),
    status,
    ...details,
  };
  const headers = new Headers(init.headers);
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  headers.set("content-length", String(bytes.byteLength));
  // Errors are not cached unless the caller says otherwise (a cached 404).
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  return new Response(bytes, { status, headers });
}

/**
 * `response` with `requestId` in its body when it is a 5xx problem: the
 * one place every 5xx problem of a request gets the id its log lines
 * carry (`X-Request-Id`), however the route built it. Any other answer is
 * returned as it is, unread.
 */
export async function withProblemRequestId(
  response: Response,
  requestId: string,
): Promise<Response> {
  if (
    response.status < 500 || response.body === null ||
    response.headers.get("content-type") !== PROBLEM_CONTENT_TYPE
  ) {
    return response;
  }
  const body: ProblemDetails = { ...await response.json(), requestId };
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const headers = new Headers(response.headers);
  headers.set("content-length", String(bytes.byteLength));
  return new Response(bytes, { status: response.status, headers });
}
